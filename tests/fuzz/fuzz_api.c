/* Fuzz target: the local API messages. The same bytes are decoded as an
 * ApiRequest (what the spoke reads from apps) and as an ApiReply (what
 * libonestop reads from the spoke); every field is read and the request
 * must re-pack to a stable encoding. */
#include <stdlib.h>

#include "fuzz.h"
#include "fuzz_walk.h"
#include "onestop.pb-c.h"

static volatile uint64_t sink;

static void fuzz_entry(const Onestop__Entry *e)
{
	fuzz_str(e->key);
	fuzz_str(e->publisher);
	fuzz_bytes(e->value);
	sink += e->seq + e->updated_ms;
}

static void fuzz_ref(const Onestop__SharedDataRef *r)
{
	fuzz_str(r->dataset);
	fuzz_str(r->key);
	fuzz_str(r->name);
}

static void fuzz_info(const Onestop__CaseInfo *c);

static void fuzz_request(const Onestop__ApiRequest *r)
{
	sink += r->request_id;
	switch (r->op_case) {
	case ONESTOP__API_REQUEST__OP__NOT_SET:
		break;
	case ONESTOP__API_REQUEST__OP_SEND:
		for (size_t i = 0; i < r->send->n_messages; i++) {
			const Onestop__Outgoing *o = r->send->messages[i];
			fuzz_str(o->destination);
			fuzz_str(o->type);
			(void)os_dest_valid(o->destination);
			(void)os_type_valid(o->type);
			fuzz_bytes(o->payload);
			sink += o->ttl_s;
		}
		break;
	case ONESTOP__API_REQUEST__OP_RECV:
		sink += r->recv->max + r->recv->wait_ms;
		break;
	case ONESTOP__API_REQUEST__OP_ACK:
		for (size_t i = 0; i < r->ack->n_seqs; i++)
			sink += r->ack->seqs[i];
		break;
	case ONESTOP__API_REQUEST__OP_STATUS:
		sink += 1;
		break;
	case ONESTOP__API_REQUEST__OP_GET:
		fuzz_str(r->get->dataset);
		fuzz_str(r->get->key);
		sink += r->get->wait_ms;
		break;
	case ONESTOP__API_REQUEST__OP_LIST:
		fuzz_str(r->list->dataset);
		fuzz_str(r->list->owner);
		fuzz_str(r->list->search);
		fuzz_str(r->list->after_key);
		sink += r->list->online + r->list->limit;
		break;
	case ONESTOP__API_REQUEST__OP_PUT:
		for (size_t i = 0; i < r->put->n_puts; i++) {
			fuzz_str(r->put->puts[i]->dataset);
			fuzz_str(r->put->puts[i]->key);
			fuzz_bytes(r->put->puts[i]->value);
			sink += r->put->puts[i]->delete_;
		}
		break;
	case ONESTOP__API_REQUEST__OP_DATASETS:
		sink += 2;
		break;
	case ONESTOP__API_REQUEST__OP_ASSERT_ISSUE:
		fuzz_str(r->assert_issue->subject);
		fuzz_str(r->assert_issue->audience);
		sink += r->assert_issue->level + r->assert_issue->ttl_s;
		break;
	case ONESTOP__API_REQUEST__OP_ASSERT_VERIFY:
		fuzz_bytes(r->assert_verify->assertion);
		fuzz_str(r->assert_verify->audience);
		sink += r->assert_verify->min_level;
		break;
	case ONESTOP__API_REQUEST__OP_CASE_FILE:
		fuzz_str(r->case_file->item);
		fuzz_bytes(r->case_file->assertion);
		fuzz_bytes(r->case_file->form);
		fuzz_bytes(r->case_file->key);
		for (size_t i = 0; i < r->case_file->n_refs; i++)
			fuzz_ref(r->case_file->refs[i]);
		for (size_t i = 0; i < r->case_file->n_uploads; i++) {
			fuzz_str(r->case_file->uploads[i]->name);
			fuzz_bytes(r->case_file->uploads[i]->data);
		}
		sink += (uint64_t)r->case_file->channel;
		break;
	case ONESTOP__API_REQUEST__OP_CASE_ACT:
		fuzz_bytes(r->case_act->case_id);
		fuzz_str(r->case_act->reason);
		for (size_t i = 0; i < r->case_act->n_missing; i++)
			fuzz_str(r->case_act->missing[i]);
		for (size_t i = 0; i < r->case_act->n_refs; i++)
			fuzz_ref(r->case_act->refs[i]);
		for (size_t i = 0; i < r->case_act->n_uploads; i++) {
			fuzz_str(r->case_act->uploads[i]->name);
			fuzz_bytes(r->case_act->uploads[i]->data);
		}
		sink += (uint64_t)r->case_act->action + (uint64_t)r->case_act->outcome +
			r->case_act->licence_days;
		break;
	case ONESTOP__API_REQUEST__OP_CASE_GET:
		fuzz_bytes(r->case_get->case_id);
		break;
	case ONESTOP__API_REQUEST__OP_CASE_LIST:
		fuzz_str(r->case_list->item);
		fuzz_bytes(r->case_list->after_id);
		sink += (uint64_t)r->case_list->state + r->case_list->by_state +
			r->case_list->overdue + r->case_list->limit;
		break;
	case ONESTOP__API_REQUEST__OP_LICENCE_VERIFY:
		fuzz_str(r->licence_verify->number);
		fuzz_str(r->licence_verify->holder);
		break;
	case ONESTOP__API_REQUEST__OP_STATS:
		fuzz_str(r->stats->by);
		fuzz_str(r->stats->from);
		fuzz_str(r->stats->to);
		break;
	default:
		__builtin_trap();
	}
}

static void fuzz_info(const Onestop__CaseInfo *c)
{
	fuzz_bytes(c->id);
	fuzz_str(c->item);
	fuzz_str(c->applicant);
	fuzz_str(c->filed_by);
	fuzz_str(c->owner);
	fuzz_str(c->licence);
	fuzz_bytes(c->form);
	sink += (uint64_t)c->channel + (uint64_t)c->state + (uint64_t)c->outcome + c->seq +
		c->filed_ms + c->accepted_ms + c->promised_due_ms + c->legal_due_ms + c->overdue +
		(uint64_t)c->pending;
	for (size_t i = 0; i < c->n_history; i++) {
		const Onestop__CaseStep *s = c->history[i];
		fuzz_str(s->actor);
		fuzz_str(s->reason);
		fuzz_str(s->licence);
		for (size_t j = 0; j < s->n_missing; j++)
			fuzz_str(s->missing[j]);
		sink += s->seq + s->at_ms + (uint64_t)s->action + (uint64_t)s->outcome;
	}
	for (size_t i = 0; i < c->n_refs; i++)
		fuzz_ref(c->refs[i]);
	for (size_t i = 0; i < c->n_uploads; i++) {
		fuzz_str(c->uploads[i]->name);
		fuzz_bytes(c->uploads[i]->data);
	}
}

static void fuzz_reply(const Onestop__ApiReply *r)
{
	sink += r->request_id + (uint64_t)r->code;
	fuzz_str(r->message);
	switch (r->result_case) {
	case ONESTOP__API_REPLY__RESULT__NOT_SET:
		break;
	case ONESTOP__API_REPLY__RESULT_SEND:
		for (size_t i = 0; i < r->send->n_ids; i++)
			fuzz_bytes(r->send->ids[i]);
		break;
	case ONESTOP__API_REPLY__RESULT_RECV:
		for (size_t i = 0; i < r->recv->n_messages; i++) {
			const Onestop__Incoming *m = r->recv->messages[i];
			sink += m->seq + m->created_ms + m->expires_ms;
			fuzz_bytes(m->id);
			fuzz_str(m->origin);
			fuzz_str(m->destination);
			fuzz_str(m->type);
			fuzz_bytes(m->payload);
		}
		break;
	case ONESTOP__API_REPLY__RESULT_ACK:
		sink += r->ack->acked;
		break;
	case ONESTOP__API_REPLY__RESULT_STATUS:
		fuzz_str(r->status->node);
		sink += r->status->hub_connected + r->status->outbox + r->status->inbox +
			r->status->registry_version + r->status->sent + r->status->received +
			r->status->registry_expires_ms;
		break;
	case ONESTOP__API_REPLY__RESULT_GET:
		if (r->get->entry != NULL)
			fuzz_entry(r->get->entry);
		break;
	case ONESTOP__API_REPLY__RESULT_LIST:
		for (size_t i = 0; i < r->list->n_entries; i++)
			fuzz_entry(r->list->entries[i]);
		fuzz_str(r->list->next_key);
		break;
	case ONESTOP__API_REPLY__RESULT_PUT:
		for (size_t i = 0; i < r->put->n_ids; i++)
			fuzz_bytes(r->put->ids[i]);
		break;
	case ONESTOP__API_REPLY__RESULT_DATASETS:
		for (size_t i = 0; i < r->datasets->n_datasets; i++) {
			const Onestop__DatasetInfo *d = r->datasets->datasets[i];
			fuzz_str(d->name);
			fuzz_bytes(d->digest);
			sink += (uint64_t)d->mode + d->seq + d->count + d->syncing;
		}
		break;
	case ONESTOP__API_REPLY__RESULT_ASSERT_ISSUE:
		fuzz_bytes(r->assert_issue->assertion);
		break;
	case ONESTOP__API_REPLY__RESULT_ASSERT_VERIFY:
		fuzz_str(r->assert_verify->issuer);
		fuzz_str(r->assert_verify->subject);
		sink += r->assert_verify->level + r->assert_verify->expires_ms;
		break;
	case ONESTOP__API_REPLY__RESULT_CASE_FILE:
		fuzz_bytes(r->case_file->case_id);
		fuzz_str(r->case_file->owner);
		sink += r->case_file->duplicate;
		break;
	case ONESTOP__API_REPLY__RESULT_CASE_ACT:
		fuzz_str(r->case_act->licence);
		sink += r->case_act->seq + r->case_act->pending;
		break;
	case ONESTOP__API_REPLY__RESULT_CASE_GET:
		if (r->case_get->info)
			fuzz_info(r->case_get->info);
		break;
	case ONESTOP__API_REPLY__RESULT_CASE_LIST:
		for (size_t i = 0; i < r->case_list->n_cases; i++)
			fuzz_info(r->case_list->cases[i]);
		fuzz_bytes(r->case_list->next);
		break;
	case ONESTOP__API_REPLY__RESULT_STATS:
		for (size_t i = 0; i < r->stats->n_rows; i++) {
			const Onestop__StatsRow *w = r->stats->rows[i];
			fuzz_str(w->key);
			sink += w->filed + w->accepted + w->rejected + w->approved + w->denied +
				w->decided + w->withdrawn + w->p90_days + w->open + w->overdue +
				(uint64_t)(w->mean_days + w->on_time_promised_rate +
					   w->on_time_legal_rate + w->online_share + w->hall_share);
		}
		break;
	case ONESTOP__API_REPLY__RESULT_LICENCE_VERIFY:
		fuzz_str(r->licence_verify->publisher);
		if (r->licence_verify->licence) {
			fuzz_str(r->licence_verify->licence->number);
			fuzz_str(r->licence_verify->licence->holder);
		}
		break;
	default:
		__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Onestop__ApiRequest *q = onestop__api_request__unpack(NULL, size, data);
	if (q != NULL) {
		fuzz_request(q);
		size_t n1 = onestop__api_request__get_packed_size(q);
		uint8_t *b1 = malloc(n1 + 1);
		if (b1 == NULL || onestop__api_request__pack(q, b1) != n1)
			__builtin_trap();
		/* NULL only for protobuf-c's unknown field number 0 (see fuzz_link.c). */
		Onestop__ApiRequest *q2 = onestop__api_request__unpack(NULL, n1, b1);
		if (q2 != NULL) {
			if (q2->op_case != q->op_case || q2->request_id != q->request_id ||
			    onestop__api_request__get_packed_size(q2) != n1)
				__builtin_trap();
			onestop__api_request__free_unpacked(q2, NULL);
		}
		free(b1);
		onestop__api_request__free_unpacked(q, NULL);
	}
	Onestop__ApiReply *r = onestop__api_reply__unpack(NULL, size, data);
	if (r != NULL) {
		fuzz_reply(r);
		onestop__api_reply__free_unpacked(r, NULL);
	}
	return 0;
}
