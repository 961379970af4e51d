/* Fuzz target: the spoke's local API in process. Each input builds a spoke
 * of node gd.sz from onestop_spoke_core as the daemon starts it (store in
 * a scratch directory, outbox, inbox, registry through trust_start,
 * replica, API socket, the modules' hooks on one loop) with a stand-in for
 * the hub link, and reads the input as a script of requests as libonestop
 * sends them (Send, Recv, Ack, Status, Get, List, Put, Datasets, assertion
 * Issue and Verify, the case API: CaseFile, CaseAct, CaseGet, CaseList,
 * LicenceVerify, Rate, Market; raw bytes; a byte after each may mutate
 * it), plus deliveries from the hub into the inbox (among them
 * "onestop.Case" and "onestop.Evaluation" messages of either party), changes of the local dataset copies (items,
 * identity, licences) and runs of the loop. Every reply must decode. */
#include <errno.h>
#include <zmq.h>

#include "api.h"
#include "batchsig.h"
#include "casework.h"
#include "complaints.h"
#include "evaluate.h"
#include "dataset.h"
#include "envelope.h"
#include "err.h"
#include "fuzz_world.h"
#include "inbox.h"
#include "log.h"
#include "loop.h"
#include "outbox.h"
#include "replica.h"
#include "replica_fetch.h"
#include "replica_read.h"
#include "spoke.h"
#include "store.h"
#include "trust.h"

#define FS_MAX_REQUESTS 48
#define FS_FRAME_MAX 16384
#define FS_MAX_BATCH 4
#define FS_IDS 4 /* case ids kept for later steps */
#define FS_ID_LEN 16

struct fs {
	char *dir;
	struct spoke sp;
	struct loop *loop;
	void *client;
	int hub_up; /* what the stand-in hub link says */
	uint8_t assertion[1024];
	size_t assertion_len;
	uint64_t recv_max;              /* highest inbox seq received */
	uint8_t ids[FS_IDS][FS_ID_LEN]; /* cases named, the last at ids[(n_ids - 1) % FS_IDS] */
	unsigned n_ids;
	char licence[80]; /* the last licence number an approval issued */
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
	sp->conf.hub_max_message_bytes = 65536;
	sp->conf.assertion_max_validity_s = 600;
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
	sp->conf.complaint_days = 5;
	sp->conf.holidays_file = "";
	FW_CHECK(store_open(f->dir, 16, 32, &sp->st));
	FW_CHECK(spoke_dbis(sp) || replica_dbis(sp->st, &sp->db_ds_cache, &sp->db_ds_pos));
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
	FW_CHECK(casework_open(sp) || complaints_open(sp) || evaluate_open(sp));
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
	complaints_close(sp);
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

static void fs_keep_id(struct fs *f, const ProtobufCBinaryData *id)
{
	if (id->len != FS_ID_LEN)
		return;
	memcpy(f->ids[f->n_ids++ % FS_IDS], id->data, FS_ID_LEN);
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
		if (r->result_case == ONESTOP__API_REPLY__RESULT_CASE_FILE)
			fs_keep_id(f, &r->case_file->case_id);
		if (r->result_case == ONESTOP__API_REPLY__RESULT_CASE_LIST)
			for (size_t i = 0; i < r->case_list->n_cases; i++)
				fs_keep_id(f, &r->case_list->cases[i]->id);
		if (r->result_case == ONESTOP__API_REPLY__RESULT_CASE_ACT &&
		    r->case_act->licence[0])
			snprintf(f->licence, sizeof(f->licence), "%s", r->case_act->licence);
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

/* ---------------------------------------------------------------- cases */

static const char *fs_items[] = {"1144", "1145", "nope", " bad key", ""};
static const char *fs_subjects[] = {"s-7f3a9c", "s-other", ""};
static const char *fs_names[] = {"identity card", "licence", "x", ""};
static const char *fs_node_names[] = {"", "hub", "gd.sz", "b", "gd.old", "sup"};

/* A case id: one the spoke named (most often), else input bytes of any
 * length (16 of them name a case only by luck). */
static ProtobufCBinaryData fs_case_id(struct fs *f, struct fw_in *in, uint8_t buf[FS_ID_LEN + 8])
{
	ProtobufCBinaryData id;
	uint8_t how = fw_u8(in);
	const uint8_t *b;

	if (f->n_ids > 0 && (how & 3) != 0) {
		unsigned n = f->n_ids < FS_IDS ? f->n_ids : FS_IDS;
		memcpy(buf, f->ids[(how >> 2) % n], FS_ID_LEN);
		id.len = FS_ID_LEN;
	} else {
		id.len = fw_bytes(in, FS_ID_LEN + 8, &b);
		memcpy(buf, b, id.len);
	}
	id.data = buf;
	return id;
}

/* A licence number: the last one issued, a fixed one, or input text. */
static const char *fs_licence_no(struct fs *f, struct fw_in *in, char *buf, size_t size)
{
	static const char *fixed[] = {"LIC-1", "LIC-2", "", " bad"};
	uint8_t how = fw_u8(in);
	if ((how & 3) == 0 && f->licence[0])
		return f->licence;
	if ((how & 3) == 1)
		return fw_str(in, buf, size);
	return fixed[(how >> 2) % 4];
}

/* Up to FS_MAX_BATCH references and uploads into the given arrays. */
struct fs_given {
	Onestop__SharedDataRef r[FS_MAX_BATCH], *rp[FS_MAX_BATCH];
	Onestop__CaseUpload u[FS_MAX_BATCH], *up[FS_MAX_BATCH];
	size_t n_refs, n_ups;
	char keys[FS_MAX_BATCH][40];
};

static void fs_given(struct fs *f, struct fw_in *in, struct fs_given *g)
{
	static const char *datasets[] = {DS_IDENTITY, DS_IDENTITY, "licences",
					 DS_ITEMS,    "nope",      ""};
	uint8_t how = fw_u8(in);

	g->n_refs = how % (FS_MAX_BATCH + 1);
	g->n_ups = (how >> 3) % (FS_MAX_BATCH + 1);
	for (size_t i = 0; i < g->n_refs; i++) {
		const char *ds = FW_PICK(in, datasets);
		onestop__shared_data_ref__init(&g->r[i]);
		g->r[i].dataset = (char *)ds;
		if (strcmp(ds, "licences") == 0)
			g->r[i].key = (char *)fs_licence_no(f, in, g->keys[i], sizeof(g->keys[i]));
		else if (strcmp(ds, DS_ITEMS) == 0)
			g->r[i].key = (char *)FW_PICK(in, fs_items);
		else
			g->r[i].key = (char *)FW_PICK(in, fs_subjects);
		g->r[i].name = (char *)FW_PICK(in, fs_names);
		g->rp[i] = &g->r[i];
	}
	for (size_t i = 0; i < g->n_ups; i++) {
		const uint8_t *b;
		onestop__case_upload__init(&g->u[i]);
		g->u[i].name = (char *)FW_PICK(in, fs_names);
		g->u[i].data.len = fw_bytes(in, 255, &b);
		g->u[i].data.data = (uint8_t *)b;
		g->up[i] = &g->u[i];
	}
}

static void fs_op_case_file(struct fs *f, struct fw_in *in, uint8_t flags)
{
	static const char *keys[] = {"k1", "k2", ""};
	Onestop__ApiRequest q = ONESTOP__API_REQUEST__INIT;
	Onestop__CaseFileRequest c = ONESTOP__CASE_FILE_REQUEST__INIT;
	struct fs_given g;
	uint8_t copy[sizeof(f->assertion)];
	uint8_t how = fw_u8(in);
	const uint8_t *b;

	c.item = (char *)FW_PICK(in, fs_items);
	if ((how & 1) && f->assertion_len) {
		memcpy(copy, f->assertion, f->assertion_len);
		c.assertion.len = f->assertion_len;
		if (how & 2)
			copy[fw_u8(in) % f->assertion_len] ^= 1;
	} else {
		c.assertion.len = fw_bytes(in, 255, &b);
		memcpy(copy, b, c.assertion.len);
	}
	c.assertion.data = copy;
	c.channel = (Onestop__CaseChannel)((how >> 2) % 6); /* 5: none such */
	c.form.len = fw_bytes(in, 255, &b);
	c.form.data = (uint8_t *)b;
	fs_given(f, in, &g);
	c.n_refs = g.n_refs;
	c.refs = g.rp;
	c.n_uploads = g.n_ups;
	c.uploads = g.up;
	if (how & 0x20) {
		c.key.data = (uint8_t *)FW_PICK(in, keys);
		c.key.len = strlen((const char *)c.key.data);
	} else if (how & 0x40) {
		c.key.len = fw_bytes(in, 255, &b); /* over 120 bytes: refused */
		c.key.data = (uint8_t *)b;
	}
	q.op_case = ONESTOP__API_REQUEST__OP_CASE_FILE;
	q.case_file = &c;
	fs_send(f, in, &q, flags);
}

static void fs_op_case_act(struct fs *f, struct fw_in *in, uint8_t flags)
{
	static char *missing[] = {"identity card", "x", ""};
	Onestop__ApiRequest q = ONESTOP__API_REQUEST__INIT;
	Onestop__CaseActRequest a = ONESTOP__CASE_ACT_REQUEST__INIT;
	struct fs_given g;
	uint8_t idb[FS_ID_LEN + 8];
	char reason[64];
	uint8_t how = fw_u8(in);

	a.case_id = fs_case_id(f, in, idb);
	a.action = (Onestop__CaseAction)(how % 10); /* 0, FILE and 9: refused */
	a.reason = (how & 0x10) ? (char *)fw_str(in, reason, sizeof(reason)) : "";
	a.n_missing = (how >> 5) % 4;
	a.missing = missing;
	a.outcome = (Onestop__CaseOutcome)(fw_u8(in) % 4);
	if (fw_u8(in) & 1) {
		fs_given(f, in, &g);
		a.n_refs = g.n_refs;
		a.refs = g.rp;
		a.n_uploads = g.n_ups;
		a.uploads = g.up;
	}
	a.licence_days = (how & 0x80) ? fw_u16(in) * 977u : fw_u8(in);
	q.op_case = ONESTOP__API_REQUEST__OP_CASE_ACT;
	q.case_act = &a;
	fs_send(f, in, &q, flags);
}

static void fs_op_case_read(struct fs *f, struct fw_in *in, uint8_t flags)
{
	Onestop__ApiRequest q = ONESTOP__API_REQUEST__INIT;
	Onestop__CaseGetRequest g = ONESTOP__CASE_GET_REQUEST__INIT;
	Onestop__CaseListRequest l = ONESTOP__CASE_LIST_REQUEST__INIT;
	Onestop__LicenceVerifyRequest v = ONESTOP__LICENCE_VERIFY_REQUEST__INIT;
	uint8_t idb[FS_ID_LEN + 8];
	char no[64];
	uint8_t how = fw_u8(in);

	switch (how % 3) {
	case 0:
		g.case_id = fs_case_id(f, in, idb);
		q.op_case = ONESTOP__API_REQUEST__OP_CASE_GET;
		q.case_get = &g;
		break;
	case 1: {
		uint8_t m = fw_u8(in);
		/* One filter is right; none or two are refused. */
		l.by_state = m & 1;
		l.state = (Onestop__CaseState)((m >> 4) % 10);
		l.item = (m & 2) ? (char *)FW_PICK(in, fs_items) : "";
		l.overdue = (m >> 2) & 1;
		if (m & 8)
			l.after_id = fs_case_id(f, in, idb);
		l.limit = (how & 0x80) ? fw_u16(in) : (uint32_t)(how >> 2) % 4;
		q.op_case = ONESTOP__API_REQUEST__OP_CASE_LIST;
		q.case_list = &l;
		break;
	}
	default:
		v.number = (char *)fs_licence_no(f, in, no, sizeof(no));
		v.holder = (char *)FW_PICK(in, fs_subjects);
		q.op_case = ONESTOP__API_REQUEST__OP_LICENCE_VERIFY;
		q.licence_verify = &v;
		break;
	}
	fs_send(f, in, &q, flags);
}

/* A change of a local dataset copy as the hub streams it, signed by
 * gd.sz, b or the revoked gd.old: items through the change log (a value
 * owned by gd.sz or b, junk, or a delete); identity and licences (cached)
 * through the answer to a fetch of the key (found, or not found). */
static void fs_op_replicate(struct fs *f, struct fw_in *in, uint8_t flags)
{
	static const int from[] = {FW_SELF, FW_SELF, FW_PEER, FW_OLD};
	const struct fw_world *w = fw_world();
	struct spoke *sp = &f->sp;
	Onestop__LicenceValue lv = ONESTOP__LICENCE_VALUE__INIT;
	Onestop__Change ch = ONESTOP__CHANGE__INIT, *chp = &ch;
	uint8_t epoch[16], lic[512], *chg = NULL, *sg = NULL;
	const uint8_t *val = NULL;
	size_t vlen = 0, clen = 0, slen = 0;
	const char *ds, *key;
	char kb[64];
	uint64_t now = os_now_ms(), seq = 0;
	int k = from[(flags >> 2) % 4], syncing = 0, del = 0;
	uint8_t how = fw_u8(in);

	switch (flags % 3) {
	case 0:
		ds = DS_ITEMS;
		key = FW_PICK(in, fs_items);
		del = (how & 7) == 7;
		if ((how & 3) == 0) {
			val = w->item;
			vlen = w->item_len;
		} else if ((how & 3) == 1) {
			val = w->item_b;
			vlen = w->item_b_len;
		} else {
			vlen = fw_bytes(in, 255, &val);
		}
		break;
	case 1:
		ds = DS_IDENTITY;
		key = FW_PICK(in, fs_subjects);
		if (how & 1) {
			val = w->identity;
			vlen = w->identity_len;
		} else {
			vlen = fw_bytes(in, 255, &val);
		}
		break;
	default: {
		static const char *items[] = {"1144", "1145", "nope"};
		static const char *issuers[] = {"gd.sz", "b", "gd.old", "nobody"};
		ds = "licences";
		key = fs_licence_no(f, in, kb, sizeof(kb));
		lv.number = (how & 1) ? "LIC-other" : (char *)key;
		lv.item = (char *)FW_PICK(in, items);
		lv.holder = (char *)FW_PICK(in, fs_subjects);
		lv.issuer = (char *)FW_PICK(in, issuers);
		/* From an hour ago or later; ending never, in the past or later. */
		lv.valid_from_ms = now - FW_HOUR_MS + (uint64_t)fw_u8(in) * FW_HOUR_MS / 64;
		lv.valid_until_ms =
			(how & 2) ? 0 : now - FW_HOUR_MS + (uint64_t)fw_u8(in) * FW_HOUR_MS;
		lv.status = (Onestop__LicenceStatus)((how >> 2) % 4);
		if ((how >> 4) == 0xf) {
			vlen = fw_bytes(in, 255, &val);
		} else if (onestop__licence_value__get_packed_size(&lv) <= sizeof(lic)) {
			vlen = onestop__licence_value__pack(&lv, lic);
			val = lic;
		}
		break;
	}
	}
	if (ds_change_pack(ds, key, del, del ? NULL : val, del ? 0 : vlen, &chg, &clen) != 0)
		return;
	struct env_draft d = {"hub", DS_CHANGE_TYPE, chg, clen, now + FW_HOUR_MS};
	static const char *names[FW_KEYS] = {"", "hub", "gd.sz", "b", "gd.old", "sup"};
	int rc = env_sign_batch(names[k], 1, w->keys[k].sign_sk, &d, 1, now, &sg, &slen, NULL);
	free(chg);
	if (rc != 0)
		return;
	replica_position(sp, ds, &seq, &syncing);
	memset(epoch, 0x7e, sizeof(epoch));
	ch.seq = seq + 1;
	ch.signed_.data = sg;
	ch.signed_.len = slen;
	if (strcmp(ds, DS_ITEMS) == 0) {
		Onestop__Changes c = ONESTOP__CHANGES__INIT;
		c.dataset = (char *)ds;
		c.epoch.data = epoch;
		c.epoch.len = sizeof(epoch);
		c.n_items = 1;
		c.items = &chp;
		replica_changes(sp, &c);
	} else {
		/* A cached copy is filled by the hub's answer to a fetch, as
		 * a Get that misses asks for it. */
		Onestop__Fetched fd = ONESTOP__FETCHED__INIT;
		uint64_t id = 0;
		int up = f->hub_up;
		f->hub_up = 1;
		rc = replica_fetch_start(sp, replica_fetch_table(sp), ds, key, &id);
		f->hub_up = up;
		if (rc == 0) {
			fd.request_id = id;
			fd.dataset = (char *)ds;
			fd.key = (char *)key;
			fd.found = (how & 0x80) == 0;
			fd.entry = &ch;
			replica_fetched(sp, &fd);
			replica_fetch_forget(replica_fetch_table(sp), id);
		}
	}
	free(sg);
	fs_run(f, 1);
}

/* The hub delivers an "onestop.Case" message: a filing with its FILE
 * transition (for this node or another owner), a later transition of a
 * case this node knows (or not), a refusal, both or neither, or junk;
 * signed by b, this node or the revoked gd.old, perhaps naming another
 * actor or filing node than its origin, at a time of any calendar or none. */
static void fs_op_case_msg(struct fs *f, struct fw_in *in, uint8_t flags)
{
	static const int from[] = {FW_PEER, FW_PEER, FW_SELF, FW_OLD};
	static const char *owners[] = {"gd.sz", "gd.sz", "b", ""};
	static char *missing[] = {"identity card", "x"};
	const struct fw_world *w = fw_world();
	struct spoke *sp = &f->sp;
	Onestop__CaseMessage m = ONESTOP__CASE_MESSAGE__INIT;
	Onestop__Case c = ONESTOP__CASE__INIT;
	Onestop__CaseTransition tr = ONESTOP__CASE_TRANSITION__INIT;
	Onestop__CaseRefusal rf = ONESTOP__CASE_REFUSAL__INIT;
	Onestop__CaseMaterial mat = ONESTOP__CASE_MATERIAL__INIT, *matp = &mat;
	Onestop__SharedDataRef ref = ONESTOP__SHARED_DATA_REF__INIT;
	uint8_t idb[FS_ID_LEN + 8], payload[2048], *out = NULL;
	char reason[64], lic[64];
	struct env_draft d;
	size_t len = 0;
	uint64_t now = os_now_ms();
	int k = from[(flags >> 3) % 4], held = 0;
	const char *origin = fs_node_names[k];
	uint8_t how = fw_u8(in);
	const uint8_t *b;

	memset(&d, 0, sizeof(d));
	tr.case_id = fs_case_id(f, in, idb);
	tr.actor = (how & 0x10) ? (char *)FW_PICK(in, fs_node_names) : (char *)origin;
	tr.reason = (how & 0x20) ? (char *)fw_str(in, reason, sizeof(reason)) : "";
	/* The actor's clock: now, unset, or beyond any calendar. */
	const uint64_t at[] = {now, 0, UINT64_MAX, now + 8000 * 366 * 24 * FW_HOUR_MS};
	tr.at_ms = at[(flags >> 5) & 3];
	switch (flags % 4) {
	case 0: /* a filing: a new id, mostly, kept for the steps that follow */
		if ((how & 3) != 0 && tr.case_id.len != FS_ID_LEN) {
			memset(idb, fw_u8(in), FS_ID_LEN);
			idb[0] = (uint8_t)f->n_ids;
			tr.case_id.len = FS_ID_LEN;
		}
		c.id = tr.case_id;
		c.item = (char *)FW_PICK(in, fs_items);
		c.applicant = (char *)FW_PICK(in, fs_subjects);
		c.channel = (Onestop__CaseChannel)(fw_u8(in) % 6);
		c.filed_by = (how & 0x40) ? (char *)FW_PICK(in, fs_node_names) : (char *)origin;
		c.owner = (char *)FW_PICK(in, owners);
		c.form.len = fw_bytes(in, 255, &b);
		c.form.data = (uint8_t *)b;
		if (how & 0x80) {
			ref.dataset = "licences";
			ref.key = (char *)fs_licence_no(f, in, lic, sizeof(lic));
			mat.source_case = ONESTOP__CASE_MATERIAL__SOURCE_SHARED;
			mat.shared = &ref;
			c.n_materials = 1;
			c.materials = &matp;
		}
		c.created_ms = now;
		tr.seq = (how & 4) ? fw_u8(in) % 3 : 1;
		tr.action = (how & 8) ? (Onestop__CaseAction)(fw_u8(in) % 10)
				      : ONESTOP__CASE_ACTION__CASE_ACTION_FILE;
		m.filing = &c;
		m.transition = (how & 3) == 3 ? NULL : &tr;
		fs_keep_id(f, &c.id);
		break;
	case 1: /* a later step */
		tr.seq = fw_u8(in) % 8;
		tr.action = (Onestop__CaseAction)(fw_u8(in) % 10);
		tr.outcome = (Onestop__CaseOutcome)(fw_u8(in) % 4);
		tr.n_missing = how % 3;
		tr.missing = missing;
		if (how & 0x40)
			tr.licence = (char *)fs_licence_no(f, in, lic, sizeof(lic));
		if (how & 0x80) {
			ref.dataset = "licences";
			ref.key = (char *)fs_licence_no(f, in, lic, sizeof(lic));
			mat.source_case = ONESTOP__CASE_MATERIAL__SOURCE_SHARED;
			mat.shared = &ref;
			tr.n_added = 1;
			tr.added = &matp;
		}
		m.transition = &tr;
		m.refusal = (how & 0xf) == 0xf ? &rf : NULL;
		break;
	case 2: /* a refusal of this node's pending step */
		rf.case_id = tr.case_id;
		rf.seq = fw_u8(in) % 8;
		rf.action = (Onestop__CaseAction)(fw_u8(in) % 10);
		rf.code = -(int32_t)(fw_u8(in) % 40);
		rf.reason = tr.reason;
		m.refusal = &rf;
		break;
	default:
		break; /* junk below, or an empty message */
	}
	if (flags % 4 == 3 && (how & 1)) {
		len = fw_bytes(in, 255, &b);
		memcpy(payload, b, len);
	} else if (onestop__case_message__get_packed_size(&m) <= sizeof(payload)) {
		len = onestop__case_message__pack(&m, payload);
	}
	fw_mutate(in, payload, sizeof(payload), &len);
	d.destination = (flags & 0x80) ? "@supervision" : "gd.sz";
	d.type = "onestop.Case";
	d.payload = payload;
	d.payload_len = len;
	d.expires_ms = now + FW_HOUR_MS;
	if (env_sign_batch(origin, 1, w->keys[k].sign_sk, &d, 1, now, &out, &len, NULL) != 0)
		return;
	inbox_deliver(sp, sp->ib.last + 1, out, len, now, &held);
	free(out);
}

/* Complaints and consultations through the API: filings about a case, an
 * item or a node (this node handles the consultations about its own
 * items), steps of any action by this node, and the reads. */
static void fs_op_complaint(struct fs *f, struct fw_in *in, uint8_t flags)
{
	static const char *abouts[] = {"item:1144", "item:nope", "node:gd.sz", "node:b", "case:00",
				       "bogus",     ""};
	static const char *assignees[] = {"b", "gd.sz", "sup", "gd.old", "nobody", ""};
	Onestop__ApiRequest q = ONESTOP__API_REQUEST__INIT;
	Onestop__ComplaintFileRequest c = ONESTOP__COMPLAINT_FILE_REQUEST__INIT;
	Onestop__ComplaintActRequest a = ONESTOP__COMPLAINT_ACT_REQUEST__INIT;
	Onestop__ComplaintGetRequest g = ONESTOP__COMPLAINT_GET_REQUEST__INIT;
	Onestop__ComplaintListRequest l = ONESTOP__COMPLAINT_LIST_REQUEST__INIT;
	uint8_t idb[FS_ID_LEN + 8], copy[sizeof(f->assertion)];
	char about[80], reason[64];
	uint8_t how = fw_u8(in);
	const uint8_t *b;

	switch (how % 4) {
	case 0:
		c.kind = (Onestop__ComplaintKind)(fw_u8(in) % 4);
		if ((how & 4) && f->n_ids) {
			uint8_t id[FS_ID_LEN];
			char hex[2 * FS_ID_LEN + 1];
			ProtobufCBinaryData pid = fs_case_id(f, in, idb);
			memset(id, 0, sizeof(id));
			memcpy(id, pid.data, pid.len < FS_ID_LEN ? pid.len : FS_ID_LEN);
			os_hex(hex, id, FS_ID_LEN);
			snprintf(about, sizeof(about), "case:%s", hex);
			c.about = about;
		} else {
			c.about = (char *)FW_PICK(in, abouts);
		}
		c.text.len = fw_bytes(in, 255, &b);
		c.text.data = (uint8_t *)b;
		if ((how & 8) && f->assertion_len) {
			memcpy(copy, f->assertion, f->assertion_len);
			c.assertion.data = copy;
			c.assertion.len = f->assertion_len;
		}
		c.channel = (Onestop__CaseChannel)((how >> 4) % 6);
		if (how & 0x40) {
			c.key.data = (uint8_t *)"ck";
			c.key.len = 2;
		}
		q.op_case = ONESTOP__API_REQUEST__OP_COMPLAINT_FILE;
		q.complaint_file = &c;
		break;
	case 1:
		a.complaint_id = fs_case_id(f, in, idb);
		a.action = (Onestop__ComplaintAction)(fw_u8(in) % 7);
		a.assignee = (how & 4) ? (char *)FW_PICK(in, assignees) : "";
		a.answer.len = (how & 8) ? fw_bytes(in, 255, &b) : 0;
		a.answer.data = a.answer.len ? (uint8_t *)b : NULL;
		a.reason = (how & 0x10) ? (char *)fw_str(in, reason, sizeof(reason)) : "";
		q.op_case = ONESTOP__API_REQUEST__OP_COMPLAINT_ACT;
		q.complaint_act = &a;
		break;
	case 2:
		g.complaint_id = fs_case_id(f, in, idb);
		q.op_case = ONESTOP__API_REQUEST__OP_COMPLAINT_GET;
		q.complaint_get = &g;
		break;
	default:
		l.overdue = how & 4;
		l.by_state = how & 8;
		l.state = (Onestop__ComplaintState)(fw_u8(in) % 7);
		l.limit = fw_u16(in);
		if (how & 0x10)
			l.after_id = fs_case_id(f, in, idb);
		q.op_case = ONESTOP__API_REQUEST__OP_COMPLAINT_LIST;
		q.complaint_list = &l;
		break;
	}
	fs_send(f, in, &q, flags);
	fs_run(f, 1);
}

/* The hub delivers an "onestop.Complaint" message: a filing for this node
 * (or another handler), a history for a new assignee, a step, a refusal,
 * several of them or junk; from b, this node or the revoked gd.old. */
static void fs_op_complaint_msg(struct fs *f, struct fw_in *in, uint8_t flags)
{
	static const int from[] = {FW_PEER, FW_PEER, FW_SELF, FW_OLD};
	static const char *handlers[] = {"gd.sz", "gd.sz", "b", ""};
	static const char *abouts[] = {"item:1144", "node:b", "case:00", ""};
	const struct fw_world *w = fw_world();
	struct spoke *sp = &f->sp;
	Onestop__ComplaintMessage m = ONESTOP__COMPLAINT_MESSAGE__INIT;
	Onestop__Complaint c = ONESTOP__COMPLAINT__INIT;
	Onestop__ComplaintTransition tr[3], *trp[3];
	Onestop__ComplaintRefusal rf = ONESTOP__COMPLAINT_REFUSAL__INIT;
	uint8_t idb[FS_ID_LEN + 8], payload[2048], *out = NULL;
	struct env_draft d;
	size_t len = 0;
	uint64_t now = os_now_ms();
	int k = from[(flags >> 3) % 4], held = 0;
	const char *origin = fs_node_names[k];
	uint8_t how = fw_u8(in);
	const uint8_t *b;

	memset(&d, 0, sizeof(d));
	for (int i = 0; i < 3; i++) {
		onestop__complaint_transition__init(&tr[i]);
		trp[i] = &tr[i];
	}
	ProtobufCBinaryData id = fs_case_id(f, in, idb);
	for (int i = 0; i < 3; i++) {
		tr[i].complaint_id = id;
		tr[i].seq = (how & 0x10) ? fw_u8(in) % 5 : (uint64_t)i + 1;
		tr[i].action = (Onestop__ComplaintAction)(i == 0 ? 1 : fw_u8(in) % 7);
		tr[i].actor = (how & 0x20) ? (char *)FW_PICK(in, fs_node_names) : (char *)origin;
		tr[i].assignee = (tr[i].action == 2) ? (char *)FW_PICK(in, fs_node_names) : "";
		tr[i].at_ms = (how & 0x40) ? 0 : now;
	}
	switch (flags % 4) {
	case 0: /* a filing */
		c.id = id;
		c.kind = (Onestop__ComplaintKind)(fw_u8(in) % 4);
		c.about = (char *)FW_PICK(in, abouts);
		c.text.len = fw_bytes(in, 255, &b);
		c.text.data = (uint8_t *)b;
		c.filed_by = (how & 1) ? (char *)FW_PICK(in, fs_node_names) : (char *)origin;
		c.handler = (char *)FW_PICK(in, handlers);
		c.region = (how & 2) ? "gd" : "";
		c.item = (how & 4) ? "1144" : "";
		c.created_ms = now;
		if ((how & 8) && f->assertion_len) {
			c.assertion.data = f->assertion;
			c.assertion.len = f->assertion_len;
		}
		m.filing = &c;
		m.steps = trp;
		m.n_steps = 1 + (fw_u8(in) % 3);
		fs_keep_id(f, &c.id);
		break;
	case 1: /* steps */
		m.steps = trp;
		m.n_steps = 1 + (how & 1);
		break;
	case 2: /* a refusal */
		rf.complaint_id = id;
		rf.seq = fw_u8(in) % 5;
		rf.action = (Onestop__ComplaintAction)(fw_u8(in) % 7);
		rf.code = -(int32_t)(fw_u8(in) % 40);
		m.refusal = &rf;
		if (how & 1) {
			m.steps = trp;
			m.n_steps = 1;
		}
		break;
	default:
		break;
	}
	if (flags % 4 == 3 && (how & 1)) {
		len = fw_bytes(in, 255, &b);
		memcpy(payload, b, len);
	} else if (onestop__complaint_message__get_packed_size(&m) <= sizeof(payload)) {
		len = onestop__complaint_message__pack(&m, payload);
	}
	fw_mutate(in, payload, sizeof(payload), &len);
	d.destination = (flags & 0x80) ? "@supervision" : "gd.sz";
	d.type = "onestop.Complaint";
	d.payload = payload;
	d.payload_len = len;
	d.expires_ms = now + FW_HOUR_MS;
	if (env_sign_batch(origin, 1, w->keys[k].sign_sk, &d, 1, now, &out, &len, NULL) != 0)
		return;
	inbox_deliver(sp, sp->ib.last + 1, out, len, now, &held);
	free(out);
}

/* ------------------------------------------------------------ ratings */

/* A Rate request: a case the spoke named or input bytes, any score, a
 * comment (empty, input bytes, or one byte over the limit), the
 * assertion issued before (perhaps altered) or junk, any channel. */
static void fs_op_rate(struct fs *f, struct fw_in *in, uint8_t flags)
{
	static uint8_t longc[2001];
	Onestop__ApiRequest q = ONESTOP__API_REQUEST__INIT;
	Onestop__RateRequest r = ONESTOP__RATE_REQUEST__INIT;
	uint8_t idb[FS_ID_LEN + 8], copy[sizeof(f->assertion)];
	uint8_t how = fw_u8(in);
	const uint8_t *b;

	r.case_id = fs_case_id(f, in, idb);
	r.score = fw_u8(in) % 7; /* 0 and 6: refused */
	if (how & 0x40) {
		memset(longc, 'x', sizeof(longc));
		r.comment.data = longc;
		r.comment.len = sizeof(longc);
	} else {
		r.comment.len = fw_bytes(in, 255, &b);
		r.comment.data = (uint8_t *)b;
	}
	if ((how & 1) && f->assertion_len) {
		memcpy(copy, f->assertion, f->assertion_len);
		r.assertion.len = f->assertion_len;
		if (how & 2)
			copy[fw_u8(in) % f->assertion_len] ^= 1;
	} else {
		r.assertion.len = fw_bytes(in, 255, &b);
		memcpy(copy, b, r.assertion.len);
	}
	r.assertion.data = copy;
	r.channel = (Onestop__CaseChannel)((how >> 2) % 6); /* 5: none such */
	q.op_case = ONESTOP__API_REQUEST__OP_RATE;
	q.rate = &r;
	fs_send(f, in, &q, flags);
}

/* A Market request: a region and a kind (every one, known or not) and a
 * number of days (0, small, or over 366). */
static void fs_op_market(struct fs *f, struct fw_in *in, uint8_t flags)
{
	static const char *regions[] = {"", "gd", "gd.sz", "x y"};
	static const char *kinds[] = {"", "licence", "registration", "nope"};
	Onestop__ApiRequest q = ONESTOP__API_REQUEST__INIT;
	Onestop__MarketRequest m = ONESTOP__MARKET_REQUEST__INIT;
	uint8_t how = fw_u8(in);

	m.region = (char *)FW_PICK(in, regions);
	m.kind = (char *)FW_PICK(in, kinds);
	m.days = (how & 0x80) ? fw_u16(in) : (uint32_t)(how % 40);
	q.op_case = ONESTOP__API_REQUEST__OP_MARKET;
	q.market = &m;
	fs_send(f, in, &q, flags);
}

/* The hub delivers an "onestop.Evaluation" message: a rating (of a case
 * this node knows or not, taken by its origin or naming another node, any
 * score, comment and channel, the assertion issued before or junk, at a
 * time of any calendar or none), an owner's answer (any code and score),
 * both, neither, or junk; signed by b, this node or the revoked gd.old,
 * to this node or to a topic. */
static void fs_op_eval_msg(struct fs *f, struct fw_in *in, uint8_t flags)
{
	static const int from[] = {FW_PEER, FW_PEER, FW_SELF, FW_OLD};
	const struct fw_world *w = fw_world();
	struct spoke *sp = &f->sp;
	Onestop__EvaluationMessage m = ONESTOP__EVALUATION_MESSAGE__INIT;
	Onestop__Evaluation ev = ONESTOP__EVALUATION__INIT;
	uint8_t idb[FS_ID_LEN + 8], payload[4096], *out = NULL;
	char reason[64];
	struct env_draft d;
	size_t len = 0;
	uint64_t now = os_now_ms();
	int k = from[(flags >> 3) % 4], held = 0;
	const char *origin = fs_node_names[k];
	uint8_t how = fw_u8(in);
	const uint8_t *b;

	memset(&d, 0, sizeof(d));
	const uint64_t at[] = {now, 0, UINT64_MAX, now + 8000 * 366 * 24 * FW_HOUR_MS};
	switch (flags % 4) {
	case 0: /* a rating */
	case 1: /* a rating and an answer */
		ev.case_id = fs_case_id(f, in, idb);
		ev.score = fw_u8(in) % 7;
		ev.comment.len = fw_bytes(in, 255, &b);
		ev.comment.data = (uint8_t *)b;
		ev.taken_by = (how & 0x10) ? (char *)FW_PICK(in, fs_node_names) : (char *)origin;
		ev.channel = (Onestop__CaseChannel)(fw_u8(in) % 6);
		if ((how & 1) && f->assertion_len) {
			ev.assertion.data = f->assertion;
			ev.assertion.len = f->assertion_len;
		} else {
			ev.assertion.len = fw_bytes(in, 255, &b);
			ev.assertion.data = (uint8_t *)b;
		}
		ev.at_ms = at[(flags >> 5) & 3];
		m.evaluation = &ev;
		if (flags % 4 == 0)
			break;
		/* fall through */
	case 2: /* the owner's answer */
		if (!m.evaluation)
			m.case_id = fs_case_id(f, in, idb);
		else
			m.case_id = ev.case_id;
		m.code = (how & 0x20) ? (int32_t)(fw_u8(in) % 4) : -(int32_t)(fw_u8(in) % 40);
		m.reason = (how & 0x40) ? (char *)fw_str(in, reason, sizeof(reason)) : "";
		m.score = fw_u8(in) % 7;
		break;
	default:
		break; /* junk below, or an empty message */
	}
	if (flags % 4 == 3 && (how & 1)) {
		len = fw_bytes(in, 255, &b);
		memcpy(payload, b, len);
	} else if (onestop__evaluation_message__get_packed_size(&m) <= sizeof(payload)) {
		len = onestop__evaluation_message__pack(&m, payload);
	}
	fw_mutate(in, payload, sizeof(payload), &len);
	d.destination = (flags & 0x80) ? "@supervision" : "gd.sz";
	d.type = EVALUATE_TYPE;
	d.payload = payload;
	d.payload_len = len;
	d.expires_ms = now + FW_HOUR_MS;
	if (env_sign_batch(origin, 1, w->keys[k].sign_sk, &d, 1, now, &out, &len, NULL) != 0)
		return;
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
		if (op >= 0xf8) {
			/* Ratings and the market. */
			switch (op % 4) {
			case 0:
				fs_op_rate(&f, &in, flags);
				break;
			case 1:
				fs_op_market(&f, &in, flags);
				break;
			default:
				fs_op_eval_msg(&f, &in, flags);
				break;
			}
			continue;
		}
		if (op >= 0xb0 && op < 0xc0) {
			/* Complaints and consultations. */
			if (op & 1)
				fs_op_complaint_msg(&f, &in, flags);
			else
				fs_op_complaint(&f, &in, flags);
			continue;
		}
		if (op >= 0xc0) {
			/* The case service (older scripts keep their meaning,
			 * but for their ops 0xf8 and up). */
			switch ((op - 0xc0) % 6) {
			case 0:
				fs_op_replicate(&f, &in, flags);
				break;
			case 1:
				fs_op_case_file(&f, &in, flags);
				break;
			case 2:
				fs_op_case_act(&f, &in, flags);
				break;
			case 3:
				fs_op_case_read(&f, &in, flags);
				break;
			default:
				fs_op_case_msg(&f, &in, flags);
				break;
			}
			continue;
		}
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
