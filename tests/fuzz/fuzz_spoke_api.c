/* Fuzz target: the spoke's local API in process. Each input builds a spoke
 * of node gd.sz from onestop_spoke_core as the daemon starts it (store in
 * a scratch directory, outbox, inbox, registry through trust_start,
 * replica, API socket, the modules' hooks on one loop) with a stand-in for
 * the hub link, and reads the input as a script of requests as libonestop
 * sends them (Send, Recv, Ack, Status, Get, List, Put, Datasets, assertion
 * Issue and Verify, raw bytes; a byte after each may mutate it), plus
 * deliveries from the hub into the inbox and runs of the loop. Every reply
 * must decode. */
#include <errno.h>
#include <zmq.h>

#include "api.h"
#include "batchsig.h"
#include "casework.h"
#include "dataset.h"
#include "envelope.h"
#include "err.h"
#include "fuzz_world.h"
#include "inbox.h"
#include "log.h"
#include "loop.h"
#include "outbox.h"
#include "replica.h"
#include "replica_read.h"
#include "spoke.h"
#include "store.h"
#include "trust.h"

#define FS_MAX_REQUESTS 48
#define FS_FRAME_MAX 16384
#define FS_MAX_BATCH 4

struct fs {
	char *dir;
	struct spoke sp;
	struct loop *loop;
	void *client;
	int hub_up; /* what the stand-in hub link says */
	uint8_t assertion[1024];
	size_t assertion_len;
	uint64_t recv_max; /* highest inbox seq received */
};

static volatile uint64_t sink;

/* The hub link's stand-in: up as the script says; frames are dropped. */
static int fs_hub_send(void *ctx, const struct Onestop__LinkFrame *f)
{
	struct fs *s = ctx;
	(void)f;
	return s->hub_up ? 0 : OS_ECONN;
}

static int fs_hub_up(void *ctx)
{
	return ((struct fs *)ctx)->hub_up;
}

static void fs_hub_restart(void *ctx)
{
	(void)ctx;
}

static int fs_dirty(void *ctx)
{
	return ((struct spoke *)ctx)->txn_dirty;
}

static int fs_failed(void *ctx)
{
	return ((struct spoke *)ctx)->txn_err != 0;
}

static int fs_commit(void *ctx)
{
	return spoke_commit(ctx);
}

static void fs_setup(struct fs *f)
{
	const struct fw_world *w = fw_world();
	struct spoke *sp = &f->sp;
	const struct loop_state state = {fs_dirty, fs_failed, fs_commit, sp};
	struct store_txn *t = NULL;
	static char regpath[600];
	uint8_t epoch[INBOX_EPOCH_LEN];
	char bound[256];
	FILE *fp;
	int zero = 0;

	memset(f, 0, sizeof(*f));
	f->dir = fw_mkdtemp();
	snprintf(regpath, sizeof(regpath), "%s/registry.bin", f->dir);
	if (!(fp = fopen(regpath, "wb")) ||
	    fwrite(w->reg->signed_bytes, 1, w->reg->signed_len, fp) != w->reg->signed_len ||
	    fclose(fp) != 0)
		__builtin_trap();
	sp->conf.name = "gd.sz";
	sp->conf.hub_name = "hub";
	sp->conf.registry = regpath;
	sp->conf.api = "inproc://api";
	sp->conf.data_dir = f->dir;
	sp->conf.map_size_mb = 16;
	sp->conf.max_message_bytes = 4096;
	sp->conf.default_ttl_s = 3600;
	sp->conf.outbox_quota = 12;
	sp->conf.window = 4;
	sp->conf.heartbeat_ms = 1000;
	sp->conf.reconnect_min_ms = 100;
	sp->conf.reconnect_max_ms = 1000;
	sp->conf.cache_entries = 3;
	sp->conf.fetch_timeout_ms = 1;
	memcpy(sp->anchor, w->keys[FW_ROOT].sign_pk, sizeof(os_sign_pk));
	sp->kp = w->keys[FW_SELF];
	sp->conf.case_ttl_days = 30;
	sp->conf.holidays_file = "";
	FW_CHECK(store_open(f->dir, 16, 24, &sp->st));
	FW_CHECK(store_dbi_open(sp->st, "meta", &sp->db_meta) ||
		 store_dbi_open(sp->st, "outbox", &sp->db_outbox) ||
		 store_dbi_open(sp->st, "inbox", &sp->db_inbox) ||
		 store_dbi_open(sp->st, "seen", &sp->db_seen) ||
		 store_dbi_open(sp->st, "registry", &sp->db_registry) ||
		 store_dbi_open(sp->st, "assert_seen", &sp->db_assert_seen) ||
		 store_dbi_open(sp->st, "sendkey", &sp->db_sendkey) ||
		 store_dbi_open(sp->st, "sendkey_age", &sp->db_sendkey_age) ||
		 store_dbi_open(sp->st, "cases", &sp->db_cases) ||
		 store_dbi_open(sp->st, "case_hist", &sp->db_case_hist) ||
		 store_dbi_open(sp->st, "case_idx", &sp->db_case_idx) ||
		 store_dbi_open(sp->st, "case_aux", &sp->db_case_aux) ||
		 replica_dbis(sp->st, &sp->db_ds_cache, &sp->db_ds_pos));
	FW_CHECK(batchsig_cache_new(64, &sp->cache));
	/* As spoke_start: state, outbox epoch, registry, replica, one commit. */
	FW_CHECK(spoke_txn(sp, &t) || outbox_load(sp, t, 1) || inbox_load(sp, t) ||
		 inbox_upgrade(sp, t));
	spoke_wrote(sp, 0);
	FW_CHECK(trust_start(sp));
	FW_CHECK(spoke_txn(sp, &t) || replica_open(sp, t) || sp->txn_err);
	/* The hub's epoch, as a Welcome would set it: deliveries may follow. */
	memset(epoch, 0x5a, sizeof(epoch));
	FW_CHECK(inbox_hub_epoch(sp, epoch, sizeof(epoch), NULL) || spoke_commit(sp));
	sp->hub_io = (struct spoke_hub_io){fs_hub_send, fs_hub_up, fs_hub_restart, f};
	FW_CHECK(!(sp->zctx = zmq_ctx_new()));
	FW_CHECK(casework_open(sp));
	FW_CHECK(api_open(sp, bound, sizeof(bound)));
	FW_CHECK(loop_new(&state, &f->loop) || outbox_attach(sp, f->loop) ||
		 inbox_attach(sp, f->loop) || replica_attach_reload(sp, f->loop) ||
		 api_attach(sp, f->loop) || casework_attach(sp, f->loop) ||
		 replica_attach(sp, f->loop));
	f->client = zmq_socket(sp->zctx, ZMQ_DEALER);
	FW_CHECK(!f->client || zmq_setsockopt(f->client, ZMQ_LINGER, &zero, sizeof(zero)) ||
		 zmq_connect(f->client, bound));
}

static void fs_teardown(struct fs *f)
{
	struct spoke *sp = &f->sp;
	os_log(OS_LOG_DEBUG, "fuzz_spoke_api",
	       "sent=%llu refused=%llu received=%llu commits=%llu inbox=%llu outbox=%llu",
	       (unsigned long long)sp->stats.sent, (unsigned long long)sp->stats.refused,
	       (unsigned long long)sp->stats.received, (unsigned long long)sp->stats.commits,
	       (unsigned long long)sp->ib.count, (unsigned long long)sp->ob.count);
	loop_free(&f->loop);
	store_abort(&sp->txn);
	replica_close(sp);
	api_close(sp);
	casework_close(sp);
	zmq_close(f->client);
	zmq_ctx_term(sp->zctx);
	inbox_clear(sp);
	replica_dbis_release(sp->st);
	store_close(&sp->st);
	registry_free(&sp->reg);
	batchsig_cache_destroy(&sp->cache);
	fw_rmdir(f->dir);
}

/* Read every reply: each must decode; keep what later requests reuse. */
static void fs_read_replies(struct fs *f)
{
	uint8_t buf[1 << 16];
	int n, more;
	size_t sz = sizeof(more);

	while ((n = zmq_recv(f->client, buf, sizeof(buf), ZMQ_DONTWAIT)) >= 0) {
		Onestop__ApiReply *r;
		if (zmq_getsockopt(f->client, ZMQ_RCVMORE, &more, &sz) == 0 && more)
			continue; /* the empty delimiter of a REQ-style request */
		if ((size_t)n > sizeof(buf))
			continue;
		if (!(r = onestop__api_reply__unpack(NULL, (size_t)n, buf)))
			__builtin_trap(); /* the spoke sends only what apps can read */
		if (r->result_case == ONESTOP__API_REPLY__RESULT_ASSERT_ISSUE &&
		    r->assert_issue->assertion.len <= sizeof(f->assertion)) {
			memcpy(f->assertion, r->assert_issue->assertion.data,
			       r->assert_issue->assertion.len);
			f->assertion_len = r->assert_issue->assertion.len;
		}
		if (r->result_case == ONESTOP__API_REPLY__RESULT_RECV)
			for (size_t i = 0; i < r->recv->n_messages; i++) {
				if (r->recv->messages[i]->seq > f->recv_max)
					f->recv_max = r->recv->messages[i]->seq;
				sink += r->recv->messages[i]->payload.len;
			}
		onestop__api_reply__free_unpacked(r, NULL);
	}
}

static void fs_run(struct fs *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		loop_iterate(f->loop);
		fs_read_replies(f);
	}
}

static void fs_send(struct fs *f, struct fw_in *in, Onestop__ApiRequest *q, uint8_t flags)
{
	static uint8_t buf[FS_FRAME_MAX + 1];
	size_t len = onestop__api_request__get_packed_size(q);

	q->request_id = (flags & 0x80) ? fw_u16(in) : flags;
	len = onestop__api_request__get_packed_size(q);
	if (len > FS_FRAME_MAX)
		return;
	onestop__api_request__pack(q, buf);
	fw_mutate(in, buf, FS_FRAME_MAX, &len);
	/* A REQ socket puts an empty delimiter first. */
	if ((flags & 0x40) && zmq_send(f->client, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return;
	while (zmq_send(f->client, buf, len, ZMQ_DONTWAIT) < 0) {
		if (errno != EAGAIN)
			return;
		fs_run(f, 1);
	}
}

static const char *fs_dests[] = {"b",   "gd.sz",  "hub",    "@supervision",
				 "sup", "gd.old", "nobody", "@nothing",
				 "B",   ""};
static const char *fs_types[] = {"gov.X",       "gov.Y",    "onestop.DeadLetter",
				 "not.allowed", "bad type", ""};
static const char *fs_ds[] = {DS_ITEMS, DS_IDENTITY, "nope", ""};
static const char *fs_keys[] = {"1144", "s-7f3a9c", "k", " bad key", ""};

static void fs_op_send(struct fs *f, struct fw_in *in, uint8_t flags)
{
	Onestop__ApiRequest q = ONESTOP__API_REQUEST__INIT;
	Onestop__SendRequest s = ONESTOP__SEND_REQUEST__INIT;
	Onestop__Outgoing o[FS_MAX_BATCH], *op[FS_MAX_BATCH];
	uint8_t how = fw_u8(in);

	s.n_messages = how % (FS_MAX_BATCH + 1);
	for (size_t i = 0; i < s.n_messages; i++) {
		const uint8_t *p;
		onestop__outgoing__init(&o[i]);
		o[i].destination = (char *)FW_PICK(in, fs_dests);
		o[i].type = (char *)FW_PICK(in, fs_types);
		o[i].payload.len = fw_bytes(in, 255, &p);
		o[i].payload.data = (uint8_t *)p;
		o[i].ttl_s = (how & 0x80) ? fw_u16(in) : 0;
		op[i] = &o[i];
	}
	s.messages = op;
	q.op_case = ONESTOP__API_REQUEST__OP_SEND;
	q.send = &s;
	fs_send(f, in, &q, flags);
}

static void fs_op_recv_ack(struct fs *f, struct fw_in *in, uint8_t flags, int ack)
{
	Onestop__ApiRequest q = ONESTOP__API_REQUEST__INIT;
	Onestop__RecvRequest r = ONESTOP__RECV_REQUEST__INIT;
	Onestop__AckRequest a = ONESTOP__ACK_REQUEST__INIT;
	uint64_t seqs[8];
	uint8_t how = fw_u8(in);

	if (ack) {
		a.n_seqs = how % 9;
		for (size_t i = 0; i < a.n_seqs; i++) {
			uint8_t d = fw_u8(in);
			seqs[i] = (d & 0x80) ? d : f->recv_max - (d % 4 < f->recv_max ? d % 4 : 0);
		}
		a.seqs = seqs;
		q.op_case = ONESTOP__API_REQUEST__OP_ACK;
		q.ack = &a;
	} else {
		r.max = how % 8;
		r.wait_ms = (how & 0x80) ? fw_u16(in) : 0;
		q.op_case = ONESTOP__API_REQUEST__OP_RECV;
		q.recv = &r;
	}
	fs_send(f, in, &q, flags);
}

static void fs_op_read(struct fs *f, struct fw_in *in, uint8_t flags, int list)
{
	Onestop__ApiRequest q = ONESTOP__API_REQUEST__INIT;
	Onestop__GetRequest g = ONESTOP__GET_REQUEST__INIT;
	Onestop__ListRequest l = ONESTOP__LIST_REQUEST__INIT;
	char a[64], b[64];
	uint8_t how = fw_u8(in);

	if (list) {
		l.dataset = (char *)FW_PICK(in, fs_ds);
		l.owner = (how & 1) ? (char *)FW_PICK(in, fs_dests) : "";
		l.online = (how >> 1) % 4;
		l.search = (how & 8) ? (char *)fw_str(in, a, sizeof(a)) : "";
		l.after_key = (how & 16) ? (char *)fw_str(in, b, sizeof(b)) : "";
		l.limit = fw_u8(in) % 8;
		q.op_case = ONESTOP__API_REQUEST__OP_LIST;
		q.list = &l;
	} else {
		g.dataset = (char *)FW_PICK(in, fs_ds);
		g.key = (how & 1) ? (char *)fw_str(in, a, sizeof(a)) : (char *)FW_PICK(in, fs_keys);
		g.wait_ms = (how >> 1) % 4;
		q.op_case = ONESTOP__API_REQUEST__OP_GET;
		q.get = &g;
	}
	fs_send(f, in, &q, flags);
}

static void fs_op_put(struct fs *f, struct fw_in *in, uint8_t flags)
{
	const struct fw_world *w = fw_world();
	Onestop__ApiRequest q = ONESTOP__API_REQUEST__INIT;
	Onestop__PutRequest p = ONESTOP__PUT_REQUEST__INIT;
	Onestop__DatasetPut d[FS_MAX_BATCH], *dp[FS_MAX_BATCH];
	uint8_t how = fw_u8(in);

	p.n_puts = how % (FS_MAX_BATCH + 1);
	for (size_t i = 0; i < p.n_puts; i++) {
		uint8_t v = fw_u8(in);
		const uint8_t *bytes;
		onestop__dataset_put__init(&d[i]);
		d[i].dataset = (char *)FW_PICK(in, fs_ds);
		d[i].key = (char *)FW_PICK(in, fs_keys);
		d[i].delete_ = (v & 1) != 0;
		switch ((v >> 1) % 4) {
		case 0:
			d[i].value.data = w->item;
			d[i].value.len = w->item_len;
			break;
		case 1:
			d[i].value.data = w->identity;
			d[i].value.len = w->identity_len;
			break;
		case 2:
			d[i].value.len = fw_bytes(in, 255, &bytes);
			d[i].value.data = (uint8_t *)bytes;
			break;
		default:
			break;
		}
		dp[i] = &d[i];
	}
	p.puts = dp;
	q.op_case = ONESTOP__API_REQUEST__OP_PUT;
	q.put = &p;
	fs_send(f, in, &q, flags);
}

static void fs_op_assert(struct fs *f, struct fw_in *in, uint8_t flags, int verify)
{
	static const char *subjects[] = {"s-7f3a9c", "unknown", "", "S"};
	Onestop__ApiRequest q = ONESTOP__API_REQUEST__INIT;
	Onestop__AssertIssueRequest is = ONESTOP__ASSERT_ISSUE_REQUEST__INIT;
	Onestop__AssertVerifyRequest ve = ONESTOP__ASSERT_VERIFY_REQUEST__INIT;
	uint8_t how = fw_u8(in);
	uint8_t copy[sizeof(f->assertion)];

	if (verify) {
		const uint8_t *b;
		if (how & 1) {
			memcpy(copy, f->assertion, f->assertion_len);
			ve.assertion.len = f->assertion_len;
			if (f->assertion_len && (how & 2))
				copy[fw_u8(in) % f->assertion_len] ^= 1;
		} else {
			ve.assertion.len = fw_bytes(in, 255, &b);
			memcpy(copy, b, ve.assertion.len);
		}
		ve.assertion.data = copy;
		ve.min_level = (how >> 2) % 4;
		ve.audience = (char *)FW_PICK(in, fs_dests);
		q.op_case = ONESTOP__API_REQUEST__OP_ASSERT_VERIFY;
		q.assert_verify = &ve;
	} else {
		is.subject = (char *)FW_PICK(in, subjects);
		is.level = how % 5;
		is.audience = (char *)FW_PICK(in, fs_dests);
		is.ttl_s = (how & 0x80) ? fw_u16(in) : 0;
		q.op_case = ONESTOP__API_REQUEST__OP_ASSERT_ISSUE;
		q.assert_issue = &is;
	}
	fs_send(f, in, &q, flags);
}

static void fs_op_simple(struct fs *f, struct fw_in *in, uint8_t flags, int datasets)
{
	Onestop__ApiRequest q = ONESTOP__API_REQUEST__INIT;
	Onestop__StatusRequest st = ONESTOP__STATUS_REQUEST__INIT;
	Onestop__DatasetsRequest ds = ONESTOP__DATASETS_REQUEST__INIT;

	if (datasets) {
		q.op_case = ONESTOP__API_REQUEST__OP_DATASETS;
		q.datasets = &ds;
	} else {
		q.op_case = ONESTOP__API_REQUEST__OP_STATUS;
		q.status = &st;
	}
	fs_send(f, in, &q, flags);
}

static void fs_op_raw(struct fs *f, struct fw_in *in, uint8_t flags)
{
	const uint8_t *b;
	size_t len = fw_bytes(in, 255, &b);
	uint8_t copy[256];
	unsigned parts = flags % 6; /* 5: more frames than a route has */

	memcpy(copy, b, len);
	for (unsigned i = 0; i < parts; i++)
		if (zmq_send(f->client, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
			return;
	zmq_send(f->client, copy, len, ZMQ_DONTWAIT);
}

/* The hub delivers the next message of its stream, as hublink.c hands it
 * to the inbox: from b (or gd.sz itself, or the revoked gd.old) to this
 * node or the topic, perhaps expired, perhaps with a broken signature. */
static void fs_op_deliver(struct fs *f, struct fw_in *in, uint8_t flags)
{
	static const char *to[] = {"gd.sz", "gd.sz", "@supervision", "b", "sup"};
	static const int from[] = {FW_PEER, FW_PEER, FW_SELF, FW_OLD};
	static const char *names[FW_KEYS] = {"", "hub", "gd.sz", "b", "gd.old", "sup"};
	const struct fw_world *w = fw_world();
	struct spoke *sp = &f->sp;
	struct env_draft d;
	uint8_t *out = NULL;
	size_t len = 0;
	uint64_t now = os_now_ms();
	int k = from[(flags >> 1) % 4];
	int held = 0;

	memset(&d, 0, sizeof(d));
	d.destination = FW_PICK(in, to);
	d.type = FW_PICK(in, fs_types);
	d.payload_len = fw_bytes(in, 255, &d.payload);
	d.expires_ms = (flags & 1) ? now - 1 : now + FW_HOUR_MS;
	if (env_sign_batch(names[k], 1, w->keys[k].sign_sk, &d, 1, now, &out, &len, NULL) != 0)
		return;
	if ((flags & 0x60) == 0x60 && len > 0)
		out[fw_u8(in) % len] ^= 1;
	/* The stream rule is hublink's: only the next seq comes here. */
	inbox_deliver(sp, sp->ib.last + 1, out, len, now, &held);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fw_in in = {data, size};
	struct fs f;
	unsigned n = 0;

	fs_setup(&f);
	while (in.n > 0 && n++ < FS_MAX_REQUESTS) {
		uint8_t op = fw_u8(&in);
		uint8_t flags = fw_u8(&in);
		switch (op % 16) {
		case 0:
		case 1:
			fs_op_send(&f, &in, flags);
			break;
		case 2:
			fs_op_recv_ack(&f, &in, flags, 0);
			break;
		case 3:
			fs_op_recv_ack(&f, &in, flags, 1);
			break;
		case 4:
			fs_op_simple(&f, &in, flags, 0);
			break;
		case 5:
			fs_op_read(&f, &in, flags, 0);
			break;
		case 6:
			fs_op_read(&f, &in, flags, 1);
			break;
		case 7:
			fs_op_put(&f, &in, flags);
			break;
		case 8:
			fs_op_simple(&f, &in, flags, 1);
			break;
		case 9:
			fs_op_assert(&f, &in, flags, 0);
			break;
		case 10:
			fs_op_assert(&f, &in, flags, 1);
			break;
		case 11:
			fs_op_raw(&f, &in, flags);
			break;
		case 12:
		case 13:
			fs_op_deliver(&f, &in, flags);
			break;
		case 14:
			f.hub_up = flags & 1;
			break;
		default:
			fs_run(&f, 1 + flags % 4);
			break;
		}
	}
	fs_run(&f, 3);
	fs_teardown(&f);
	return 0;
}
