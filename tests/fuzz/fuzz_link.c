/* Fuzz target: onestop__link_frame__unpack of a spoke-hub frame; every
 * field of every body is read, carried messages and registries go through
 * their own decoders, and the frame must re-pack to a stable encoding. */
#include <stdlib.h>

#include "envelope.h"
#include "err.h"
#include "fuzz.h"
#include "fuzz_walk.h"
#include "onestop.pb-c.h"

static volatile uint64_t sink;

static void fuzz_signed(ProtobufCBinaryData msg)
{
	struct env e;
	fuzz_bytes(msg);
	if (env_decode(msg.data, msg.len, FUZZ_MAX_BYTES, &e) == 0) {
		sink += e.payload_len;
		env_clear(&e);
	}
}

static void fuzz_registry_bytes(ProtobufCBinaryData b)
{
	struct registry *r = NULL;
	fuzz_bytes(b);
	if (registry_parse(b.data, b.len, NULL, 0, &r) == 0) {
		sink += r->n_nodes;
		registry_free(&r);
	}
}

static void fuzz_transfers(const Onestop__Transfers *t)
{
	if (t == NULL)
		__builtin_trap();
	for (size_t i = 0; i < t->n_items; i++) {
		const Onestop__Transfer *x = t->items[i];
		if (x == NULL)
			__builtin_trap();
		sink += x->seq + x->prev_seq;
		fuzz_signed(x->msg);
	}
}

static void fuzz_ack(const Onestop__Ack *a)
{
	if (a == NULL)
		__builtin_trap();
	sink += a->seq;
	fuzz_bytes(a->epoch);
}

static void fuzz_change(const Onestop__Change *c)
{
	if (c == NULL)
		__builtin_trap();
	sink += c->seq;
	fuzz_signed(c->signed_);
}

static void fuzz_walk(const Onestop__LinkFrame *f)
{
	switch (f->body_case) {
	case ONESTOP__LINK_FRAME__BODY__NOT_SET:
		break;
	case ONESTOP__LINK_FRAME__BODY_HELLO:
		sink += f->hello->protocol + f->hello->registry_version + f->hello->window;
		fuzz_str(f->hello->node);
		(void)os_name_valid(f->hello->node);
		fuzz_bytes(f->hello->outbox_epoch);
		for (size_t i = 0; i < f->hello->n_datasets; i++) {
			fuzz_str(f->hello->datasets[i]->dataset);
			sink += f->hello->datasets[i]->seq;
			fuzz_bytes(f->hello->datasets[i]->epoch);
		}
		break;
	case ONESTOP__LINK_FRAME__BODY_WELCOME:
		sink += f->welcome->protocol + f->welcome->accepted_seq + f->welcome->window;
		fuzz_bytes(f->welcome->hub_epoch);
		fuzz_registry_bytes(f->welcome->registry);
		break;
	case ONESTOP__LINK_FRAME__BODY_PUSH:
		fuzz_transfers(f->push);
		break;
	case ONESTOP__LINK_FRAME__BODY_DELIVER:
		fuzz_transfers(f->deliver);
		break;
	case ONESTOP__LINK_FRAME__BODY_PUSH_ACK:
		fuzz_ack(f->push_ack);
		break;
	case ONESTOP__LINK_FRAME__BODY_DELIVER_ACK:
		fuzz_ack(f->deliver_ack);
		break;
	case ONESTOP__LINK_FRAME__BODY_REGISTRY:
		fuzz_registry_bytes(f->registry);
		break;
	case ONESTOP__LINK_FRAME__BODY_HEARTBEAT:
		sink += f->heartbeat->now_ms;
		break;
	case ONESTOP__LINK_FRAME__BODY_ERROR:
		sink += (uint64_t)f->error->code;
		fuzz_str(f->error->message);
		(void)os_strerror(f->error->code);
		break;
	case ONESTOP__LINK_FRAME__BODY_CHANGES:
		fuzz_str(f->changes->dataset);
		fuzz_bytes(f->changes->epoch);
		for (size_t i = 0; i < f->changes->n_items; i++)
			fuzz_change(f->changes->items[i]);
		break;
	case ONESTOP__LINK_FRAME__BODY_SNAPSHOT:
		fuzz_str(f->snapshot->dataset);
		fuzz_bytes(f->snapshot->epoch);
		sink += f->snapshot->snapshot_seq + f->snapshot->first + f->snapshot->last;
		for (size_t i = 0; i < f->snapshot->n_entries; i++)
			fuzz_change(f->snapshot->entries[i]);
		break;
	case ONESTOP__LINK_FRAME__BODY_DATASET_ACK:
		fuzz_str(f->dataset_ack->dataset);
		sink += f->dataset_ack->seq + f->dataset_ack->snapshot_chunks;
		break;
	case ONESTOP__LINK_FRAME__BODY_FETCH:
		fuzz_str(f->fetch->dataset);
		fuzz_str(f->fetch->key);
		sink += f->fetch->request_id;
		break;
	case ONESTOP__LINK_FRAME__BODY_FETCHED:
		fuzz_str(f->fetched->dataset);
		fuzz_str(f->fetched->key);
		sink += f->fetched->request_id + f->fetched->found + (uint64_t)f->fetched->code;
		if (f->fetched->entry != NULL)
			fuzz_change(f->fetched->entry);
		break;
	default:
		/* protobuf-c only sets known cases. */
		__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_quiet();
	if (crypto_setup() != 0)
		__builtin_trap();
	Onestop__LinkFrame *f = onestop__link_frame__unpack(NULL, size, data);
	if (f == NULL)
		return 0;
	fuzz_walk(f);
	/* Re-encoding is stable: pack, unpack, pack gives the same bytes.
	 * (protobuf-c keeps an unknown field numbered 0 from an over-long tag
	 * and cannot read back its own encoding of it; that frame is skipped.) */
	size_t n1 = onestop__link_frame__get_packed_size(f);
	uint8_t *b1 = malloc(n1 + 1);
	if (b1 == NULL)
		__builtin_trap();
	if (onestop__link_frame__pack(f, b1) != n1)
		__builtin_trap();
	Onestop__LinkFrame *g = onestop__link_frame__unpack(NULL, n1, b1);
	if (g != NULL) {
		if (g->body_case != f->body_case)
			__builtin_trap();
		size_t n2 = onestop__link_frame__get_packed_size(g);
		uint8_t *b2 = malloc(n2 + 1);
		if (b2 == NULL || n2 != n1 || onestop__link_frame__pack(g, b2) != n2 ||
		    memcmp(b1, b2, n1) != 0)
			__builtin_trap();
		free(b2);
		onestop__link_frame__free_unpacked(g, NULL);
	}
	free(b1);
	onestop__link_frame__free_unpacked(f, NULL);
	return 0;
}
