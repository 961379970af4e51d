/* The fake spoke of the libonestop unit tests (fakespoke.h): a ROUTER
 * socket served by a thread that answers each ApiRequest as the test says
 * and keeps what it was asked. */
#include "fakespoke.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>

#include "onestop.h"
#include "testutil.h"

static struct {
	pthread_mutex_t mu;
	pthread_t thread;
	void *ctx, *sock;
	int stop;
	fake_fn answer;
	int requests;  /* requests answered */
	int ops[32];   /* requests answered, by op */
	uint8_t *last; /* the last request of op last_op, packed */
	size_t last_len;
	int last_op;
	char dir[64], ep[128];
} fake = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *fake_run(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&fake.mu);
		int stop = fake.stop;
		pthread_mutex_unlock(&fake.mu);
		if (stop)
			return NULL;
		zmq_pollitem_t it = {.socket = fake.sock, .events = ZMQ_POLLIN};
		if (zmq_poll(&it, 1, 20) <= 0)
			continue;
		zmq_msg_t idm, m;
		zmq_msg_init(&idm);
		zmq_msg_init(&m);
		if (zmq_msg_recv(&idm, fake.sock, 0) < 0 || zmq_msg_recv(&m, fake.sock, 0) < 0) {
			zmq_msg_close(&idm);
			zmq_msg_close(&m);
			continue;
		}
		Onestop__ApiRequest *req =
			onestop__api_request__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
		Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
		pthread_mutex_lock(&fake.mu);
		if (req != NULL) {
			rep.request_id = req->request_id;
			fake.requests++;
			if ((int)req->op_case < 32)
				fake.ops[req->op_case]++;
			if ((int)req->op_case == fake.last_op) {
				free(fake.last);
				fake.last_len = zmq_msg_size(&m);
				fake.last = malloc(fake.last_len);
				memcpy(fake.last, zmq_msg_data(&m), fake.last_len);
			}
			if (fake.answer != NULL)
				fake.answer(req, &rep);
		}
		pthread_mutex_unlock(&fake.mu);
		size_t len = onestop__api_reply__get_packed_size(&rep);
		uint8_t *buf = malloc(len ? len : 1);
		onestop__api_reply__pack(&rep, buf);
		zmq_msg_send(&idm, fake.sock, ZMQ_SNDMORE);
		zmq_send(fake.sock, buf, len, 0);
		free(buf);
		zmq_msg_close(&m);
		if (req != NULL)
			onestop__api_request__free_unpacked(req, NULL);
	}
}

/* Answer the next requests with fn and keep a copy of those of op last_op;
 * the counters start again. */
void fake_expect(fake_fn fn, int last_op)
{
	pthread_mutex_lock(&fake.mu);
	fake.answer = fn;
	fake.requests = 0;
	memset(fake.ops, 0, sizeof(fake.ops));
	free(fake.last);
	fake.last = NULL;
	fake.last_len = 0;
	fake.last_op = last_op;
	pthread_mutex_unlock(&fake.mu);
}

int fake_requests(void)
{
	pthread_mutex_lock(&fake.mu);
	int n = fake.requests;
	pthread_mutex_unlock(&fake.mu);
	return n;
}

int fake_ops_locked(int op)
{
	return op >= 0 && op < 32 ? fake.ops[op] : 0;
}

int fake_ops(int op)
{
	pthread_mutex_lock(&fake.mu);
	int n = fake.ops[op];
	pthread_mutex_unlock(&fake.mu);
	return n;
}

/* The last request kept, decoded (free with
 * onestop__api_request__free_unpacked). */
Onestop__ApiRequest *fake_last(void)
{
	pthread_mutex_lock(&fake.mu);
	Onestop__ApiRequest *r =
		fake.last ? onestop__api_request__unpack(NULL, fake.last_len, fake.last) : NULL;
	pthread_mutex_unlock(&fake.mu);
	assert_non_null(r);
	return r;
}

int fake_setup(void **state)
{
	char *dir = tu_mkdtemp();
	assert_non_null(dir);
	snprintf(fake.dir, sizeof(fake.dir), "%s", dir);
	free(dir);
	snprintf(fake.ep, sizeof(fake.ep), "ipc://%s/api.sock", fake.dir);
	fake.ctx = zmq_ctx_new();
	fake.sock = zmq_socket(fake.ctx, ZMQ_ROUTER);
	assert_int_equal(zmq_bind(fake.sock, fake.ep), 0);
	fake.stop = 0;
	assert_int_equal(pthread_create(&fake.thread, NULL, fake_run, NULL), 0);
	onestop_t *c = NULL;
	assert_int_equal(onestop_connect(fake.ep, 2000, &c), 0);
	*state = c;
	return 0;
}

int fake_teardown(void **state)
{
	onestop_t *c = *state;
	onestop_close(&c);
	pthread_mutex_lock(&fake.mu);
	fake.stop = 1;
	pthread_mutex_unlock(&fake.mu);
	pthread_join(fake.thread, NULL);
	zmq_close(fake.sock);
	zmq_ctx_term(fake.ctx);
	free(fake.last);
	fake.last = NULL;
	tu_rm_tree(fake.dir);
	return 0;
}
