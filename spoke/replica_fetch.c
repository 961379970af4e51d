/* Cached-mode fetches: Fetch frames to the hub and the table of pending
 * fetches by request id, in the one hash map (common/map.h). */
#include "replica_fetch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onestop.pb-c.h"

#include "err.h"
#include "map.h"
#include "spoke.h"

struct replica_fetches {
	struct map *byid; /* "%llx" of the id -> struct replica_fetch (malloc'd) */
	uint64_t next_id;
};

/* The map key of id. */
static const char *replica_fetch_key(char buf[20], uint64_t id)
{
	snprintf(buf, 20, "%llx", (unsigned long long)id);
	return buf;
}

int replica_fetch_new(struct replica_fetches **out)
{
	struct replica_fetches *fx = calloc(1, sizeof(*fx));

	if (!fx || map_new(&fx->byid) < 0) {
		free(fx);
		return OS_ENOMEM;
	}
	fx->next_id = 1;
	*out = fx;
	return 0;
}

void replica_fetch_free(struct replica_fetches **fxp)
{
	struct replica_fetches *fx = *fxp;
	struct replica_fetch *f;
	size_t pos = 0;

	if (!fx)
		return;
	while ((f = map_next(fx->byid, &pos, NULL)))
		free(f);
	map_free(&fx->byid);
	free(fx);
	*fxp = NULL;
}

uint32_t replica_fetch_wait_ms(const struct spoke *sp, uint32_t asked)
{
	if (asked == 0)
		return (uint32_t)sp->conf.fetch_timeout_ms;
	return asked < REPLICA_FETCH_MAX_WAIT_MS ? asked : REPLICA_FETCH_MAX_WAIT_MS;
}

int replica_fetch_start(struct spoke *sp, struct replica_fetches *fx, const char *dataset,
			const char *key, uint64_t *id)
{
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__Fetch fe = ONESTOP__FETCH__INIT;
	struct replica_fetch *f;
	char mk[20];
	int rc;

	if (!spoke_hub_up(sp))
		return OS_ECONN;
	if (map_len(fx->byid) >= REPLICA_FETCH_MAX)
		return OS_EAGAIN;
	if (strlen(dataset) >= sizeof(f->dataset) || strlen(key) >= sizeof(f->key))
		return OS_EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return OS_ENOMEM;
	f->id = fx->next_id;
	strcpy(f->dataset, dataset);
	strcpy(f->key, key);
	f->state = REPLICA_FETCH_PENDING;
	if (map_put(fx->byid, replica_fetch_key(mk, f->id), f) < 0) {
		free(f);
		return OS_ENOMEM;
	}
	fe.request_id = f->id;
	fe.dataset = f->dataset;
	fe.key = f->key;
	lf.body_case = ONESTOP__LINK_FRAME__BODY_FETCH;
	lf.fetch = &fe;
	rc = spoke_hub_send(sp, &lf);
	if (rc < 0) {
		map_del(fx->byid, mk);
		free(f);
		return rc;
	}
	fx->next_id++;
	*id = f->id;
	return 0;
}

struct replica_fetch *replica_fetch_pending(struct replica_fetches *fx, uint64_t id)
{
	char mk[20];
	struct replica_fetch *f = map_get(fx->byid, replica_fetch_key(mk, id));

	return f && f->state == REPLICA_FETCH_PENDING ? f : NULL;
}

void replica_fetch_settle(struct replica_fetch *f, enum replica_fetch_state state)
{
	f->state = state;
}

void replica_fetch_fail(struct replica_fetch *f, int code, const char *fmt, ...)
{
	va_list ap;

	f->state = REPLICA_FETCH_FAILED;
	f->code = code;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

const struct replica_fetch *replica_fetch_get(const struct replica_fetches *fx, uint64_t id)
{
	char mk[20];

	return fx ? map_get(fx->byid, replica_fetch_key(mk, id)) : NULL;
}

void replica_fetch_forget(struct replica_fetches *fx, uint64_t id)
{
	char mk[20];

	if (fx)
		free(map_del(fx->byid, replica_fetch_key(mk, id)));
}
