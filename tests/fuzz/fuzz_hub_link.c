/* Fuzz target: the hub's link input in process. Each input builds a hub as
 * the daemon wires it (hub/wiring.c: ZAP, CURVE ROUTER on an ipc socket, a
 * real LMDB store in a scratch directory) and one authenticated session of
 * node gd.sz, then reads the input as a script of frames: Hello, pushes of
 * envelopes signed now (messages, topic posts, dataset changes, expired or
 * corrupted ones), deliver and push acks, heartbeats, dataset acks,
 * fetches, errors and raw bytes; a byte after each frame may mutate it.
 * The hub routes, queues and commits them; its replies are checked for the
 * stream rules (acks never beyond what was pushed, deliver chains intact).
 * A first byte with its two top bits set makes the session that of the
 * child hub gd.hub under a federated chain (fw_fed): its pushes relay
 * envelopes of gd.* origins and of outsiders, and some frames offer
 * `registry` parts (signed on the spot, or input bytes). */
#include <errno.h>
#include <zmq.h>

#include "batchsig.h"
#include "dataset.h"
#include "envelope.h"
#include "err.h"
#include "fuzz_world.h"
#include "hub.h"
#include "link.h"
#include "log.h"
#include "loop.h"
#include "queue.h"
#include "route.h"
#include "store.h"
#include "wiring.h"
#include "zap.h"

#define FH_MAX_FRAMES 48   /* frames one input sends */
#define FH_FRAME_MAX 16384 /* bytes of one built frame */
#define FH_SETTLE_MS 2000  /* at most, for the hub to drain what was sent */
#define FH_MAX_BATCH 4     /* envelopes in one push */

struct fh {
	char *dir;
	struct hub h;
	struct loop *loop;
	void *client;
	uint64_t sent;       /* frames the client sent */
	uint64_t pushed_max; /* highest transfer seq in any push sent */
	uint64_t next_seq;   /* the next push seq of the script's stream */
	uint64_t delivered;  /* highest deliver seq received */
	uint8_t epoch;       /* fill byte of the current outbox epoch */
	int child;           /* the session is the child hub gd.hub's */
};

/* mode: 0 a spoke's session; else the child hub's (bit 0: a relay budget
 * of a few kilobytes). */
static void fh_setup(struct fh *f, unsigned mode)
{
	const struct fw_world *w = fw_world();
	const struct os_keypair *client = &w->keys[FW_SELF];
	struct hub *h = &f->h;
	struct loop_state st;
	char endpoint[600];
	int zero = 0;

	memset(f, 0, sizeof(*f));
	f->dir = fw_mkdtemp();
	h->conf.name = "hub";
	h->conf.max_message_bytes = 1 << 16;
	h->conf.window = 4;
	h->conf.heartbeat_ms = 1000;
	h->conf.queue_quota = 16;
	h->conf.dataset_log_max = 8;
	h->kp = w->keys[FW_HUB];
	h->key_version = 1;
	h->reg = w->reg;
	f->child = mode != 0;
	if (f->child) {
		/* Its own copy: an adopted part replaces h->reg. */
		const struct fw_fed *fed = fw_fed();
		memcpy(h->anchor, w->keys[FW_ROOT].sign_pk, sizeof(os_sign_pk));
		FW_CHECK(registry_parse(fed->chain, fed->chain_len, h->anchor, 0, &h->reg) != 0);
		client = &fed->keys[FF_GD_HUB];
		if (mode & 1) {
			h->conf.queue_bytes_mb = 1;
			h->conf.reserve_percent = 99;
		}
	}
	if (store_open(f->dir, 16, 16, &h->st) || queue_open(h, &h->queue) || dataset_open(h) ||
	    batchsig_cache_new(16, &h->sigcache) || route_new(&h->route) ||
	    route_registry_changed(h) || link_new(&hub_link_ops, &h->link) ||
	    (f->child && hub_registry_floor(h, &(uint64_t){0})))
		__builtin_trap();
	if (!(h->zctx = zmq_ctx_new()) || zap_open(h) != 0)
		__builtin_trap();
	snprintf(endpoint, sizeof(endpoint), "ipc://%s/hub.sock", f->dir);
	h->conf.listen = endpoint;
	if (hub_router_open(h, endpoint, sizeof(endpoint)) != 0)
		__builtin_trap();
	h->conf.listen = NULL;
	hub_loop_state(h, &st);
	if (loop_new(&st, &f->loop) || hub_modules_attach(h, f->loop))
		__builtin_trap();
	f->client = zmq_socket(h->zctx, ZMQ_DEALER);
	if (!f->client ||
	    zmq_setsockopt(f->client, ZMQ_CURVE_SERVERKEY, w->keys[FW_HUB].box_pk,
			   sizeof(os_box_pk)) ||
	    zmq_setsockopt(f->client, ZMQ_CURVE_PUBLICKEY, client->box_pk, sizeof(os_box_pk)) ||
	    zmq_setsockopt(f->client, ZMQ_CURVE_SECRETKEY, client->box_sk, sizeof(os_box_sk)) ||
	    zmq_setsockopt(f->client, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    zmq_connect(f->client, endpoint) != 0)
		__builtin_trap();
	f->next_seq = 1;
	f->epoch = 0x11;
}

static void fh_teardown(struct fh *f)
{
	os_log(OS_LOG_DEBUG, "fuzz_hub_link",
	       "frames=%llu accepted=%llu refused=%llu delivered=%llu commits=%llu",
	       (unsigned long long)f->h.stats.frames_in, (unsigned long long)f->h.stats.accepted,
	       (unsigned long long)f->h.stats.refused, (unsigned long long)f->h.stats.delivered,
	       (unsigned long long)f->h.stats.commits);
	loop_free(&f->loop);
	zmq_close(f->client);
	if (!f->child)
		f->h.reg = NULL; /* the world's */
	hub_modules_close(&f->h);
	registry_free(&f->h.reg);
	fw_rmdir(f->dir);
}

/* Read what the hub sent and check the stream rules on it. */
static void fh_read_replies(struct fh *f)
{
	uint8_t buf[1 << 16];
	int n;

	while ((n = zmq_recv(f->client, buf, sizeof(buf), ZMQ_DONTWAIT)) >= 0) {
		Onestop__LinkFrame *lf;
		if ((size_t)n > sizeof(buf))
			continue;
		lf = onestop__link_frame__unpack(NULL, (size_t)n, buf);
		if (!lf)
			__builtin_trap(); /* the hub sends only what it can read */
		if (lf->body_case == ONESTOP__LINK_FRAME__BODY_PUSH_ACK &&
		    lf->push_ack->seq > f->pushed_max)
			__builtin_trap(); /* acknowledged what was never pushed */
		if (lf->body_case == ONESTOP__LINK_FRAME__BODY_WELCOME &&
		    lf->welcome->accepted_seq > f->pushed_max)
			__builtin_trap();
		if (lf->body_case == ONESTOP__LINK_FRAME__BODY_DELIVER) {
			for (size_t i = 0; i < lf->deliver->n_items; i++) {
				const Onestop__Transfer *t = lf->deliver->items[i];
				if (t->seq <= t->prev_seq ||
				    (i > 0 && t->prev_seq != lf->deliver->items[i - 1]->seq))
					__builtin_trap(); /* a broken deliver chain */
				if (t->seq > f->delivered)
					f->delivered = t->seq;
			}
		}
		onestop__link_frame__free_unpacked(lf, NULL);
	}
}

/* Wait up to 1 ms for the hub's sockets (frames, ZAP requests). */
static void fh_poll(struct fh *f)
{
	zmq_pollitem_t it[2] = {{f->h.router, 0, ZMQ_POLLIN, 0}, {f->h.zap, 0, ZMQ_POLLIN, 0}};
	zmq_poll(it, 2, 1);
}

/* Run the hub until it has drained every frame sent (bounded in time), then
 * wait_ms more of its loop: acks held for company, commits, deliveries. */
static void fh_pump(struct fh *f, unsigned wait_ms)
{
	uint64_t until = os_mono_us() + FH_SETTLE_MS * 1000ull;
	while (f->h.stats.frames_in < f->sent && os_mono_us() < until) {
		fh_poll(f);
		loop_iterate(f->loop);
	}
	until = os_mono_us() + wait_ms * 1000ull;
	do {
		loop_iterate(f->loop);
		fh_read_replies(f);
		if (wait_ms)
			fh_poll(f);
	} while (os_mono_us() < until);
	loop_iterate(f->loop);
	fh_read_replies(f);
}

/* Send one packed frame (after the input's mutation, if any). */
static void fh_send(struct fh *f, struct fw_in *in, const Onestop__LinkFrame *lf)
{
	static uint8_t buf[FH_FRAME_MAX + 1];
	size_t len = onestop__link_frame__get_packed_size(lf);
	Onestop__LinkFrame *back;

	if (len > FH_FRAME_MAX)
		return;
	onestop__link_frame__pack(lf, buf);
	fw_mutate(in, buf, FH_FRAME_MAX, &len);
	/* What the hub may acknowledge: any seq of a push it can decode. */
	back = onestop__link_frame__unpack(NULL, len, buf);
	if (back) {
		if (back->body_case == ONESTOP__LINK_FRAME__BODY_PUSH)
			for (size_t i = 0; i < back->push->n_items; i++)
				if (back->push->items[i]->seq > f->pushed_max)
					f->pushed_max = back->push->items[i]->seq;
		onestop__link_frame__free_unpacked(back, NULL);
	}
	while (zmq_send(f->client, buf, len, ZMQ_DONTWAIT) < 0) {
		if (errno != EAGAIN)
			return;
		fh_pump(f, 0);
	}
	f->sent++;
}

static void fh_hello(struct fh *f, struct fw_in *in)
{
	static const char *nodes[] = {"gd.sz", "gd.sz", "gd.sz", "b", ""};
	static const char *hub_nodes[] = {"gd.hub", "gd.hub", "gd.hub", "gd.sz", "hub"};
	static const char *dsnames[] = {DS_ITEMS, DS_IDENTITY, "nope"};
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__Hello hello = ONESTOP__HELLO__INIT;
	Onestop__DatasetPosition pos[2], *pp[2];
	uint8_t epoch[QUEUE_EPOCH_LEN];
	uint8_t flags = fw_u8(in);

	if (flags & 1) /* a new outbox: a new push stream */
		f->epoch++;
	memset(epoch, f->epoch, sizeof(epoch));
	hello.protocol = (flags & 0x80) ? fw_u8(in) : HUB_PROTOCOL;
	hello.node = (char *)(f->child ? FW_PICK(in, hub_nodes) : FW_PICK(in, nodes));
	hello.outbox_epoch.data = epoch;
	hello.outbox_epoch.len = (flags & 0x40) ? fw_u8(in) % QUEUE_EPOCH_LEN : QUEUE_EPOCH_LEN;
	hello.window = fw_u8(in) % 8;
	hello.registry_version = fw_u8(in) % 5;
	hello.n_datasets = (flags >> 1) % 3;
	for (size_t i = 0; i < hello.n_datasets; i++) {
		onestop__dataset_position__init(&pos[i]);
		pos[i].dataset = (char *)FW_PICK(in, dsnames);
		pos[i].seq = fw_u8(in);
		pos[i].epoch.data = epoch;
		pos[i].epoch.len = (flags & 0x20) ? QUEUE_EPOCH_LEN : 0;
		pp[i] = &pos[i];
	}
	hello.datasets = pp;
	lf.body_case = ONESTOP__LINK_FRAME__BODY_HELLO;
	lf.hello = &hello;
	if (flags & 1)
		f->next_seq = 1;
	fh_send(f, in, &lf);
}

/* A payload for the draft: a dataset change for the hub, else input bytes. */
static size_t fh_payload(struct fw_in *in, const char *type, uint8_t **owned, const uint8_t **out)
{
	static const char *dsnames[] = {DS_ITEMS, DS_IDENTITY, "other"};
	static const char *keys[] = {"1144", "s-7f3a9c", "k", " bad key"};
	const struct fw_world *w = fw_world();
	size_t len = 0;

	*owned = NULL;
	if (strcmp(type, DS_CHANGE_TYPE) == 0) {
		uint8_t how = fw_u8(in);
		const char *ds = FW_PICK(in, dsnames);
		const uint8_t *v = (how & 1) ? w->item : w->identity;
		size_t vl = (how & 1) ? w->item_len : w->identity_len;
		if (how & 2)
			vl = fw_bytes(in, 64, &v);
		if (ds_change_pack(ds, FW_PICK(in, keys), (how & 4) != 0, v, vl, owned, &len) ==
		    0) {
			*out = *owned;
			return len;
		}
		*owned = NULL;
	}
	return fw_bytes(in, 200, out);
}

static void fh_push(struct fh *f, struct fw_in *in)
{
	static const char *dests[] = {"b",   "gd.sz",  "hub",    "@supervision",
				      "sup", "gd.old", "nobody", "@nothing"};
	/* A child hub relays: to its own subtree, to others, up and sideways. */
	static const char *relay_dests[] = {"b",      "gd.sz",  "hub",     "@supervision",
					    "sup",    "gd.a",   "gd.old",  "gd.hub",
					    "nobody", "sc.far", "@nothing"};
	/* Origins of a relayed push: its subtree, and outsiders (EORIGIN). */
	static const char *origins[] = {"gd.sz",  "gd.sz", "gd.a",   "gd.a",
					"gd.old", "b",     "gd.hub", "gd.ghost"};
	static const char *types[] = {"gov.X", "gov.Y", DS_CHANGE_TYPE, "onestop.DeadLetter",
				      "not.allowed"};
	const struct fw_world *w = fw_world();
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__Transfers t = ONESTOP__TRANSFERS__INIT;
	Onestop__Transfer it[FH_MAX_BATCH], *ptrs[FH_MAX_BATCH];
	struct env_draft d[FH_MAX_BATCH];
	uint8_t *owned[FH_MAX_BATCH], *out[FH_MAX_BATCH];
	size_t len[FH_MAX_BATCH];
	uint8_t flags = fw_u8(in);
	size_t n = 1 + flags % FH_MAX_BATCH;
	uint64_t now = os_now_ms();
	uint32_t key_version = (flags & 0x80) ? 2 : 1;
	const char *origin = "gd.sz";
	const uint8_t *sk = w->keys[FW_SELF].sign_sk;

	if (f->child) {
		const struct fw_fed *fed = fw_fed();
		origin = origins[(flags >> 2) % 8];
		if (strcmp(origin, "gd.a") == 0)
			sk = fed->keys[FF_GD_A].sign_sk;
		else if (strcmp(origin, "gd.old") == 0)
			sk = w->keys[FW_OLD].sign_sk;
		else if (strcmp(origin, "b") == 0)
			sk = w->keys[FW_PEER].sign_sk;
		else if (strcmp(origin, "gd.hub") == 0)
			sk = fed->keys[FF_GD_HUB].sign_sk;
		else if (strcmp(origin, "gd.ghost") == 0)
			sk = fed->keys[FF_GHOST].sign_sk;
	}

	for (size_t i = 0; i < n; i++) {
		uint8_t life = fw_u8(in);
		memset(&d[i], 0, sizeof(d[i]));
		d[i].destination = f->child ? FW_PICK(in, relay_dests) : FW_PICK(in, dests);
		d[i].type = FW_PICK(in, types);
		if (strcmp(d[i].type, DS_CHANGE_TYPE) == 0 && (life & 0x80))
			d[i].destination = "hub";
		d[i].payload_len = fh_payload(in, d[i].type, &owned[i], &d[i].payload);
		d[i].expires_ms = (life & 3) == 3 ? now - 1 : now + (life % 64 + 1) * FW_HOUR_MS;
	}
	if (env_sign_batch(origin, key_version, sk, d, n, now, out, len, NULL) != 0) {
		for (size_t i = 0; i < n; i++)
			free(owned[i]);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t seqmode = fw_u8(in);
		onestop__transfer__init(&it[i]);
		switch (seqmode & 3) {
		case 0: /* in order */
		case 1:
			it[i].seq = f->next_seq;
			it[i].prev_seq = f->next_seq - 1;
			f->next_seq++;
			break;
		case 2: /* a retransmit, or a gap */
			it[i].seq = f->next_seq > 1 ? f->next_seq - 1 : 1;
			it[i].prev_seq = it[i].seq - 1;
			if (seqmode & 4)
				it[i].seq += seqmode >> 3;
			break;
		case 3: /* anything */
			it[i].seq = fw_u8(in);
			it[i].prev_seq = fw_u8(in);
			break;
		}
		if ((seqmode & 0xf0) == 0xf0 && len[i] > 0) /* a broken signature or proof */
			out[i][fw_u8(in) % len[i]] ^= 1;
		it[i].msg.data = out[i];
		it[i].msg.len = len[i];
		ptrs[i] = &it[i];
	}
	t.n_items = n;
	t.items = ptrs;
	lf.body_case = ONESTOP__LINK_FRAME__BODY_PUSH;
	lf.push = &t;
	fh_send(f, in, &lf);
	for (size_t i = 0; i < n; i++) {
		free(out[i]);
		free(owned[i]);
	}
}

static void fh_ack(struct fh *f, struct fw_in *in, int deliver)
{
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__Ack a = ONESTOP__ACK__INIT;
	uint8_t how = fw_u8(in);
	uint8_t wrong[QUEUE_EPOCH_LEN];

	a.seq = (how & 1) ? f->delivered : f->delivered + (how >> 1) % 8;
	if (how & 0x80)
		a.seq = fw_u16(in);
	memset(wrong, how, sizeof(wrong));
	a.epoch.data = (how & 0x40) ? wrong : (uint8_t *)queue_epoch(f->h.queue);
	a.epoch.len = QUEUE_EPOCH_LEN;
	if (deliver) {
		lf.body_case = ONESTOP__LINK_FRAME__BODY_DELIVER_ACK;
		lf.deliver_ack = &a;
	} else {
		lf.body_case = ONESTOP__LINK_FRAME__BODY_PUSH_ACK;
		lf.push_ack = &a;
	}
	fh_send(f, in, &lf);
}

static void fh_dataset(struct fh *f, struct fw_in *in, int fetch)
{
	static const char *dsnames[] = {DS_ITEMS, DS_IDENTITY, "nope", ""};
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__DatasetAck a = ONESTOP__DATASET_ACK__INIT;
	Onestop__Fetch fe = ONESTOP__FETCH__INIT;
	char key[64];

	if (fetch) {
		fe.dataset = (char *)FW_PICK(in, dsnames);
		fe.key = (char *)fw_str(in, key, sizeof(key));
		fe.request_id = fw_u8(in);
		lf.body_case = ONESTOP__LINK_FRAME__BODY_FETCH;
		lf.fetch = &fe;
	} else {
		a.dataset = (char *)FW_PICK(in, dsnames);
		a.seq = fw_u16(in);
		a.snapshot_chunks = fw_u8(in) % 4;
		lf.body_case = ONESTOP__LINK_FRAME__BODY_DATASET_ACK;
		lf.dataset_ack = &a;
	}
	fh_send(f, in, &lf);
}

static void fh_other(struct fh *f, struct fw_in *in, uint8_t op)
{
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__Heartbeat hb = ONESTOP__HEARTBEAT__INIT;
	Onestop__LinkError er = ONESTOP__LINK_ERROR__INIT;
	Onestop__Transfers none = ONESTOP__TRANSFERS__INIT;
	char msg[64];

	if (op == 0) {
		hb.now_ms = os_now_ms();
		lf.body_case = ONESTOP__LINK_FRAME__BODY_HEARTBEAT;
		lf.heartbeat = &hb;
	} else if (op == 1) {
		er.code = -(int32_t)(fw_u8(in) % 40);
		er.message = (char *)fw_str(in, msg, sizeof(msg));
		lf.body_case = ONESTOP__LINK_FRAME__BODY_ERROR;
		lf.error = &er;
	} else {
		/* A hub-to-spoke frame the hub must refuse from a spoke. */
		lf.body_case = ONESTOP__LINK_FRAME__BODY_DELIVER;
		lf.deliver = &none;
	}
	fh_send(f, in, &lf);
}

/* A `registry` frame as a child hub sends up: up to FH_MAX_PARTS parts,
 * each signed on the spot (by the gd root, the root of gd.x or, to be
 * refused, the national root; of prefix gd, a prefix below it or beside it; nodes,
 * version and expiry from the input) or input bytes; or input bytes as
 * the whole frame. */
#define FH_MAX_PARTS 3
static void fh_registry(struct fh *f, struct fw_in *in)
{
	static const char *prefixes[] = {"gd", "gd", "gd", "gd", "gd.x", "sc", ""};
	const struct fw_world *w = fw_world();
	const struct fw_fed *fed = fw_fed();
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__SignedRegistry chain = ONESTOP__SIGNED_REGISTRY__INIT;
	Onestop__SignedRegistry *parts[FH_MAX_PARTS];
	uint8_t how = fw_u8(in);
	uint8_t *packed = NULL;
	size_t n = 0;

	if (how & 0x80) {
		const uint8_t *b;
		lf.registry.len = fw_bytes(in, 255, &b);
		lf.registry.data = (uint8_t *)b;
		goto send;
	}
	for (size_t i = 0; i < 1u + how % FH_MAX_PARTS; i++) {
		uint8_t kind = fw_u8(in);
		uint8_t *part = NULL;
		size_t len = 0;
		const uint8_t *b;

		if ((kind & 7) == 7) {
			len = fw_bytes(in, 255, &b);
			parts[n] = onestop__signed_registry__unpack(NULL, len, b);
		} else {
			uint8_t which = fw_u8(in);
			uint64_t version = FW_FED_PART_VERSION - 1 + fw_u8(in) % 6;
			uint64_t now = os_now_ms();
			/* The gd root; the national root (refused); gd.a's key,
			 * the root of gd.x when a gd part delegates it. */
			const uint8_t *signers[] = {fed->keys[FF_GD_ROOT].sign_sk,
						    w->keys[FW_ROOT].sign_sk,
						    fed->keys[FF_GD_A].sign_sk,
						    fed->keys[FF_GD_ROOT].sign_sk};
			if (fw_fed_part(fed, FW_PICK(in, prefixes), which ? which : 1 | 2 | 4 | 8,
					version, (kind & 8) ? now - 1 : now + 1000 * FW_HOUR_MS,
					signers[(kind >> 4) & 3], &part, &len) != 0)
				continue;
			if ((kind & 0xe0) == 0xe0 && len > 0) /* a broken signature */
				part[fw_u8(in) % len] ^= 1;
			parts[n] = onestop__signed_registry__unpack(NULL, len, part);
			free(part);
		}
		if (parts[n])
			n++;
	}
	chain.n_delegated = n;
	chain.delegated = parts;
	lf.registry.len = onestop__signed_registry__get_packed_size(&chain);
	packed = malloc(lf.registry.len ? lf.registry.len : 1);
	if (!packed)
		__builtin_trap();
	onestop__signed_registry__pack(&chain, packed);
	lf.registry.data = packed;
send:
	lf.body_case = ONESTOP__LINK_FRAME__BODY_REGISTRY;
	fh_send(f, in, &lf);
	for (size_t i = 0; i < n; i++)
		onestop__signed_registry__free_unpacked(parts[i], NULL);
	free(packed);
}

static void fh_raw(struct fh *f, struct fw_in *in)
{
	const uint8_t *b;
	size_t len = fw_bytes(in, 255, &b);
	uint8_t copy[256];

	memcpy(copy, b, len);
	while (zmq_send(f->client, copy, len, ZMQ_DONTWAIT) < 0) {
		if (errno != EAGAIN)
			return;
		fh_pump(f, 0);
	}
	f->sent++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fw_in in = {data, size};
	struct fh f;
	unsigned frames = 0, mode = 0;

	if (size > 0 && (data[0] & 0xc0) == 0xc0) {
		mode = 2 | (data[0] & 1);
		fw_u8(&in);
	}
	fh_setup(&f, mode);
	/* Every script opens with a valid Hello (mutations included), so
	 * that the rest meets a session. */
	fh_hello(&f, &in);
	while (in.n > 0 && frames < FH_MAX_FRAMES) {
		uint8_t op = fw_u8(&in);
		frames++;
		switch (op % 12) {
		case 0:
			fh_hello(&f, &in);
			break;
		case 1:
		case 2:
		case 3:
			fh_push(&f, &in);
			break;
		case 4:
			fh_ack(&f, &in, 1);
			break;
		case 5:
			fh_ack(&f, &in, 0);
			break;
		case 6:
			fh_dataset(&f, &in, 0);
			break;
		case 7:
			fh_dataset(&f, &in, 1);
			break;
		case 8:
			fh_other(&f, &in, (op >> 4) % 3);
			break;
		case 9:
			fh_raw(&f, &in);
			break;
		case 11:
			if (f.child) { /* a child hub offers parts */
				fh_registry(&f, &in);
				break;
			}
			/* fall through */
		default: /* let the hub work: commit, acks, deliveries */
			fh_pump(&f, (op >> 4) % 8);
			break;
		}
	}
	fh_pump(&f, 0);
	fh_teardown(&f);
	return 0;
}
