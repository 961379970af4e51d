/* Integration test harness, raw link: a CURVE DEALER that speaks LinkFrame
 * to the hub as a node key pair, for attack and malformed-input tests, and
 * signing single envelopes as any node. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "crypto.h"
#include "registry.h"
#include "util.h"

static int hub_box_pk(struct net *n, os_box_pk bpk)
{
	char pub[H_PATH + 8];
	os_sign_pk spk;

	snprintf(pub, sizeof pub, "%s.pub", n->hub.reg_key);
	return crypto_pubfile_read(pub, spk, bpk);
}

int raw_open(struct net *n, const char *keyfile, const char *node, struct raw_link **out)
{
	struct raw_link *l = calloc(1, sizeof *l);
	os_box_pk hub_pk;
	os_sign_pk anchor;
	int zero = 0, tmo = 2000;

	*out = NULL;
	if (!l)
		return -1;
	if (crypto_setup() != 0 || crypto_keyfile_read(keyfile, &l->kp) != 0 ||
	    hub_box_pk(n, hub_pk) != 0 || os_unhex(anchor, 32, n->anchor) != 0) {
		fprintf(stderr, "  raw_open: cannot read keys (%s)\n", keyfile);
		goto fail;
	}
	if (registry_load(n->registry, anchor, 0, &l->reg) != 0)
		l->reg = NULL;
	snprintf(l->node, sizeof l->node, "%s", node);
	crypto_random(l->outbox_epoch, sizeof l->outbox_epoch);
	l->ctx = zmq_ctx_new();
	if (!l->ctx)
		goto fail;
	l->sock = zmq_socket(l->ctx, ZMQ_DEALER);
	if (!l->sock)
		goto fail;
	if (zmq_setsockopt(l->sock, ZMQ_LINGER, &zero, sizeof zero) ||
	    zmq_setsockopt(l->sock, ZMQ_SNDTIMEO, &tmo, sizeof tmo) ||
	    zmq_setsockopt(l->sock, ZMQ_CURVE_SERVERKEY, hub_pk, 32) ||
	    zmq_setsockopt(l->sock, ZMQ_CURVE_PUBLICKEY, l->kp.box_pk, 32) ||
	    zmq_setsockopt(l->sock, ZMQ_CURVE_SECRETKEY, l->kp.box_sk, 32) ||
	    zmq_connect(l->sock, n->hub_endpoint)) {
		fprintf(stderr, "  raw_open: zmq: %s\n", zmq_strerror(zmq_errno()));
		goto fail;
	}
	*out = l;
	return 0;
fail:
	raw_close(&l);
	return -1;
}

void raw_close(struct raw_link **lp)
{
	struct raw_link *l = *lp;

	if (!l)
		return;
	if (l->sock)
		zmq_close(l->sock);
	if (l->ctx)
		zmq_ctx_term(l->ctx);
	registry_free(&l->reg);
	crypto_keypair_wipe(&l->kp);
	free(l);
	*lp = NULL;
}

int raw_send(struct raw_link *l, const void *buf, size_t len)
{
	return zmq_send(l->sock, buf, len, 0) == (int)len ? 0 : -1;
}

int raw_send_frame(struct raw_link *l, const Onestop__LinkFrame *f)
{
	size_t len = onestop__link_frame__get_packed_size(f);
	uint8_t *buf = malloc(len ? len : 1);
	int rc;

	if (!buf)
		return -1;
	onestop__link_frame__pack(f, buf);
	rc = raw_send(l, buf, len);
	free(buf);
	return rc;
}

static void raw_heartbeat(struct raw_link *l)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__Heartbeat hb = ONESTOP__HEARTBEAT__INIT;

	hb.now_ms = os_now_ms();
	f.body_case = ONESTOP__LINK_FRAME__BODY_HEARTBEAT;
	f.heartbeat = &hb;
	raw_send_frame(l, &f);
	l->last_hb_ms = h_now_ms();
}

static void raw_deliver(struct raw_link *l, const Onestop__Transfers *t)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__Ack ack = ONESTOP__ACK__INIT;

	for (size_t i = 0; t && i < t->n_items; i++) {
		const Onestop__Transfer *tr = t->items[i];
		struct env e;

		if (!tr || tr->seq <= l->deliver_last)
			continue;
		l->deliver_last = tr->seq;
		l->n_delivered++;
		if (env_decode(tr->msg.data, tr->msg.len, 64u << 20, &e) != 0) {
			l->n_deliver_other++;
			continue;
		}
		if (strcmp(e.type, ENV_DEADLETTER_TYPE) == 0 && l->n_dl < RAW_MAX_DL) {
			size_t k = l->n_dl;

			if (env_deadletter_unpack(e.payload, e.payload_len, &l->dl[k]) == 0) {
				snprintf(l->dl_origin[k], sizeof l->dl_origin[k], "%s", e.origin);
				l->dl_verified[k] =
					l->reg && env_verify(&e, l->reg, NULL, os_now_ms()) == 0;
				l->n_dl++;
				fprintf(stderr,
					"  raw %s: dead letter id=%s code=%d (%s) from %s "
					"verified=%d reason=%s\n",
					l->node, l->dl[k].has_id ? h_idhex(l->dl[k].id) : "-",
					l->dl[k].code, os_errname(l->dl[k].code), e.origin,
					l->dl_verified[k], l->dl[k].reason);
			} else {
				l->n_deliver_other++;
			}
		} else {
			l->n_deliver_other++;
		}
		env_clear(&e);
	}
	ack.seq = l->deliver_last;
	ack.epoch.data = l->hub_epoch;
	ack.epoch.len = sizeof l->hub_epoch;
	f.body_case = ONESTOP__LINK_FRAME__BODY_DELIVER_ACK;
	f.deliver_ack = &ack;
	raw_send_frame(l, &f);
}

static void raw_handle(struct raw_link *l, const uint8_t *buf, size_t len)
{
	Onestop__LinkFrame *f = onestop__link_frame__unpack(NULL, len, buf);

	l->n_frames++;
	if (!f) {
		l->n_undecodable++;
		return;
	}
	switch (f->body_case) {
	case ONESTOP__LINK_FRAME__BODY_WELCOME:
		l->welcomed = 1;
		if (f->welcome->hub_epoch.len == sizeof l->hub_epoch)
			memcpy(l->hub_epoch, f->welcome->hub_epoch.data, sizeof l->hub_epoch);
		l->hub_window = f->welcome->window;
		if (f->welcome->accepted_seq > l->push_acked)
			l->push_acked = f->welcome->accepted_seq;
		break;
	case ONESTOP__LINK_FRAME__BODY_PUSH_ACK:
		if (f->push_ack->seq > l->push_acked)
			l->push_acked = f->push_ack->seq;
		break;
	case ONESTOP__LINK_FRAME__BODY_DELIVER:
		raw_deliver(l, f->deliver);
		break;
	case ONESTOP__LINK_FRAME__BODY_ERROR:
		l->n_errors++;
		l->last_error = f->error->code;
		if (f->error->code <= 0 && f->error->code > -64)
			l->err_count[-f->error->code]++;
		/* the hub has no session for us: stop heartbeats until a Hello */
		if (f->error->code == OS_EHELLO)
			l->welcomed = 0;
		if (l->n_errors <= 20)
			fprintf(stderr, "  raw %s: LinkError code=%d (%s) %s\n", l->node,
				f->error->code, os_errname(f->error->code),
				f->error->message ? f->error->message : "");
		break;
	default:
		break;
	}
	onestop__link_frame__free_unpacked(f, NULL);
}

int raw_pump(struct raw_link *l, int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		zmq_pollitem_t it = {.socket = l->sock, .events = ZMQ_POLLIN};
		int64_t left = (int64_t)deadline - (int64_t)h_now_ms();
		int r;

		if (l->welcomed && h_now_ms() - l->last_hb_ms >= 100)
			raw_heartbeat(l);
		r = zmq_poll(&it, 1, left <= 0 ? 0 : (left > 50 ? 50 : (long)left));
		if (r < 0 && zmq_errno() != EINTR)
			return -1;
		while (r > 0) {
			zmq_msg_t m;

			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, l->sock, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&m);
				break;
			}
			raw_handle(l, zmq_msg_data(&m), zmq_msg_size(&m));
			zmq_msg_close(&m);
		}
		if (left <= 0)
			return 0;
	}
}

int raw_hello(struct raw_link *l, const char *node, int timeout_ms)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__Hello h = ONESTOP__HELLO__INIT;
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	int errors = l->n_errors;

	h.protocol = 1;
	h.node = (char *)(node ? node : l->node);
	h.registry_version = l->reg ? l->reg->version : 0;
	h.outbox_epoch.data = l->outbox_epoch;
	h.outbox_epoch.len = sizeof l->outbox_epoch;
	h.window = 1000;
	f.body_case = ONESTOP__LINK_FRAME__BODY_HELLO;
	f.hello = &h;
	l->welcomed = 0;
	if (raw_send_frame(l, &f) != 0)
		return -1;
	while (h_now_ms() < deadline) {
		raw_pump(l, 50);
		if (l->welcomed)
			return 0;
		if (l->n_errors > errors)
			return l->last_error ? l->last_error : -1;
	}
	return -1;
}

int raw_push(struct raw_link *l, const uint8_t *msg, size_t len, uint64_t *seq)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__Transfers ts = ONESTOP__TRANSFERS__INIT;
	Onestop__Transfer t = ONESTOP__TRANSFER__INIT;
	Onestop__Transfer *items[1] = {&t};

	t.seq = l->push_seq + 1;
	t.prev_seq = l->push_seq;
	t.msg.data = (uint8_t *)msg;
	t.msg.len = len;
	ts.n_items = 1;
	ts.items = items;
	f.body_case = ONESTOP__LINK_FRAME__BODY_PUSH;
	f.push = &ts;
	if (raw_send_frame(l, &f) != 0)
		return -1;
	l->push_seq = t.seq;
	if (seq)
		*seq = t.seq;
	return 0;
}

int raw_wait_push_ack(struct raw_link *l, uint64_t seq, int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;

	while (h_now_ms() < deadline) {
		if (l->push_acked >= seq)
			return 0;
		raw_pump(l, 50);
	}
	return l->push_acked >= seq ? 0 : -1;
}

int raw_wait_deadletter(struct raw_link *l, const uint8_t *id, int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		for (size_t i = 0; i < l->n_dl; i++)
			if (l->dl[i].has_id && memcmp(l->dl[i].id, id, 16) == 0)
				return (int)i;
		if (h_now_ms() >= deadline)
			return -1;
		raw_pump(l, 50);
	}
}

int raw_wait_error(struct raw_link *l, int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	int before = l->n_errors;

	while (h_now_ms() < deadline) {
		raw_pump(l, 50);
		if (l->n_errors > before)
			return l->last_error;
	}
	return 1;
}

int h_sign_one(struct net *n, const char *origin, const char *keyfile, const char *dest,
	       const char *type, const void *payload, size_t len, uint64_t ttl_ms, uint8_t **out,
	       size_t *out_len, uint8_t id[16])
{
	struct os_keypair kp;
	struct registry *reg = NULL;
	const struct reg_node *node;
	struct env_draft d;
	os_sign_pk anchor;
	uint32_t kv = 1;
	uint64_t now = os_now_ms();
	os_msgid mid;
	int rc;

	if (crypto_setup() != 0 || crypto_keyfile_read(keyfile, &kp) != 0)
		return -1;
	if (os_unhex(anchor, 32, n->anchor) == 0 &&
	    registry_load(n->registry, anchor, 0, &reg) == 0 &&
	    (node = registry_find(reg, origin)) != NULL)
		kv = node->key_version;
	registry_free(&reg);
	d.destination = dest;
	d.type = type;
	d.payload = payload;
	d.payload_len = len;
	d.expires_ms = now + ttl_ms;
	rc = env_sign_batch(origin, kv, kp.sign_sk, &d, 1, now, out, out_len, &mid);
	crypto_keypair_wipe(&kp);
	if (rc != 0) {
		fprintf(stderr, "  env_sign_batch: %d %s\n", rc, os_strerror(rc));
		return -1;
	}
	memcpy(id, mid, 16);
	return 0;
}

int h_sign_raw(struct net *n, const char *keyfile, const struct h_rawenv *spec, uint8_t **out,
	       size_t *out_len)
{
	Onestop__Envelope pe = ONESTOP__ENVELOPE__INIT;
	Onestop__Signed ps = ONESTOP__SIGNED__INIT;
	ProtobufCBinaryData path[8];
	uint8_t hashes[8][32];
	struct os_keypair kp;
	struct registry *reg = NULL;
	const struct reg_node *node;
	os_sign_pk anchor;
	os_hash leaf;
	os_sig sig;
	uint8_t *env;
	size_t env_len;

	*out = NULL;
	if (spec->extra_path > 8 || spec->sig_len > sizeof sig)
		return -1;
	if (crypto_setup() != 0 || crypto_keyfile_read(keyfile, &kp) != 0)
		return -1;
	pe.key_version = 1;
	if (os_unhex(anchor, 32, n->anchor) == 0 &&
	    registry_load(n->registry, anchor, 0, &reg) == 0 &&
	    (node = registry_find(reg, spec->origin)) != NULL)
		pe.key_version = node->key_version;
	registry_free(&reg);
	pe.id.data = (uint8_t *)spec->id;
	pe.id.len = spec->id_len;
	pe.origin = (char *)spec->origin;
	pe.destination = (char *)spec->dest;
	pe.type = (char *)spec->type;
	pe.created_ms = spec->created_ms;
	pe.expires_ms = spec->expires_ms;
	env_len = onestop__envelope__get_packed_size(&pe);
	env = malloc(env_len ? env_len : 1);
	if (!env) {
		crypto_keypair_wipe(&kp);
		return -1;
	}
	onestop__envelope__pack(&pe, env);
	batchsig_leaf(leaf, env, env_len);
	batchsig_sign(sig, leaf, 1, kp.sign_sk); /* a batch of one: the root is the leaf */
	crypto_keypair_wipe(&kp);
	memset(hashes, 0x5a, sizeof hashes);
	for (uint32_t k = 0; k < spec->extra_path; k++) {
		path[k].data = hashes[k];
		path[k].len = sizeof hashes[k];
	}
	ps.envelope.data = env;
	ps.envelope.len = env_len;
	ps.signature.data = sig;
	ps.signature.len = spec->sig_len;
	ps.leaf_index = 0;
	ps.leaf_count = 1;
	ps.n_path = spec->extra_path;
	ps.path = path;
	*out_len = onestop__signed__get_packed_size(&ps);
	*out = malloc(*out_len);
	if (*out)
		onestop__signed__pack(&ps, *out);
	free(env);
	return *out ? 0 : -1;
}
