/* The spoke's shared state, beside its loop (Mosquitto's database.c beside
 * loop.c): the iteration's one write transaction, its dirty and failed
 * marks and its commit, this node's registry entry and the registry's
 * expiry, and the table through which modules reach the hub link. It calls
 * no module of the spoke. */
#include "spoke.h"

#include <stddef.h>

#include "err.h"
#include "registry.h"
#include "store.h"

int spoke_dbis(struct spoke *sp)
{
	static const struct {
		const char *name;
		size_t off;
	} dbs[] = {
		{"meta", offsetof(struct spoke, db_meta)},
		{"outbox", offsetof(struct spoke, db_outbox)},
		{"inbox", offsetof(struct spoke, db_inbox)},
		{"seen", offsetof(struct spoke, db_seen)},
		{"registry", offsetof(struct spoke, db_registry)},
		{"assert_seen", offsetof(struct spoke, db_assert_seen)},
		{"sendkey", offsetof(struct spoke, db_sendkey)},
		{"sendkey_age", offsetof(struct spoke, db_sendkey_age)},
		{"cases", offsetof(struct spoke, db_cases)},
		{"case_hist", offsetof(struct spoke, db_case_hist)},
		{"case_idx", offsetof(struct spoke, db_case_idx)},
		{"case_aux", offsetof(struct spoke, db_case_aux)},
		{"sv_events", offsetof(struct spoke, db_sv_events)},
		{"sv_cases", offsetof(struct spoke, db_sv_cases)},
		{"sv_records", offsetof(struct spoke, db_sv_records)},
		{"complaints", offsetof(struct spoke, db_complaints)},
		{"complaint_hist", offsetof(struct spoke, db_complaint_hist)},
		{"complaint_idx", offsetof(struct spoke, db_complaint_idx)},
		{"evaluations", offsetof(struct spoke, db_evaluations)},
	};
	for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
		int rc =
			store_dbi_open(sp->st, dbs[i].name, (store_dbi *)((char *)sp + dbs[i].off));
		if (rc < 0)
			return rc;
	}
	return 0;
}

int spoke_txn(struct spoke *sp, struct store_txn **out)
{
	if (sp->txn_err)
		return sp->txn_err;
	if (!sp->txn) {
		int rc = store_begin(sp->st, 0, &sp->txn);
		if (rc < 0) {
			sp->txn_err = rc;
			return rc;
		}
	}
	*out = sp->txn;
	return 0;
}

int spoke_commit(struct spoke *sp)
{
	int rc = sp->txn_err;
	if (rc < 0)
		store_abort(&sp->txn);
	else if (sp->txn && sp->txn_dirty)
		rc = store_commit(&sp->txn);
	else
		store_abort(&sp->txn);
	if (rc == 0 && sp->txn_dirty)
		sp->stats.commits++;
	sp->txn_dirty = 0;
	sp->txn_err = 0;
	return rc;
}

int spoke_wrote(struct spoke *sp, int rc)
{
	if (rc < 0) {
		if (!sp->txn_err)
			sp->txn_err = rc;
	} else {
		sp->txn_dirty = 1;
	}
	return rc;
}

const struct reg_node *spoke_self(const struct spoke *sp)
{
	return sp->reg ? registry_find(sp->reg, sp->conf.name) : NULL;
}

uint64_t spoke_hub_limit(const struct spoke *sp)
{
	return sp->hub_limit ? sp->hub_limit : (uint64_t)sp->conf.hub_max_message_bytes;
}

int spoke_registry_expired(const struct spoke *sp, uint64_t now_ms)
{
	return sp->reg && sp->reg->expires_ms != 0 && sp->reg->expires_ms <= now_ms;
}

int spoke_hub_send(struct spoke *sp, const struct Onestop__LinkFrame *f)
{
	if (!sp->hub_io.send)
		return OS_ECONN;
	return sp->hub_io.send(sp->hub_io.ctx, f);
}

int spoke_hub_up(const struct spoke *sp)
{
	return sp->hub_io.up ? sp->hub_io.up(sp->hub_io.ctx) : 0;
}

void spoke_hub_restart(struct spoke *sp)
{
	if (sp->hub_io.restart)
		sp->hub_io.restart(sp->hub_io.ctx);
}
