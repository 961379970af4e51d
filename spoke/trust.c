/* The spoke's registry (trust.h): choosing, verifying, storing and
 * swapping in the SignedRegistry, and the warnings that would otherwise
 * surface only as refused messages (this node missing, its keys not the
 * registry's, the registry expired). */
#include "trust.h"

#include <string.h>

#include "crypto.h"
#include "err.h"
#include "log.h"
#include "registry.h"
#include "store.h"
#include "util.h"

#include "spoke.h"

#define REGISTRY_KEY "current"

/* Warn about what would make every message of ours refused. */
static void trust_check_self(struct spoke *sp)
{
	const struct reg_node *me = spoke_self(sp);
	sp->key_version = me ? me->key_version : 1;
	if (!me) {
		os_log(OS_LOG_WARN, "node_unregistered",
		       "node=%s registry_version=%llu reason=\"not in the registry; the hub will refuse this node\"",
		       sp->conf.name, (unsigned long long)sp->reg->version);
		return;
	}
	if (crypto_memcmp(me->sign_pk, sp->kp.sign_pk, sizeof(os_sign_pk)) != 0 ||
	    crypto_memcmp(me->box_pk, sp->kp.box_pk, sizeof(os_box_pk)) != 0)
		os_log(OS_LOG_WARN, "node_key_mismatch",
		       "node=%s reason=\"the key file does not hold the keys the registry lists\"",
		       sp->conf.name);
	if (!registry_node_active(me))
		os_log(OS_LOG_WARN, "node_inactive", "node=%s status=%s", sp->conf.name,
		       registry_status_str(me->status));
}

static void trust_log_expired(const struct spoke *sp)
{
	if (spoke_registry_expired(sp, os_now_ms()))
		os_log(OS_LOG_WARN, "registry_expired",
		       "version=%llu expires_ms=%llu reason=\"new messages are refused until a current registry arrives\"",
		       (unsigned long long)sp->reg->version,
		       (unsigned long long)sp->reg->expires_ms);
}

/* Make r (consumed) the current registry, storing it in the iteration's
 * transaction when store_it; logged as event (registry_loaded at start,
 * registry_updated after). 0 or a store error (r is freed). */
static int trust_adopt(struct spoke *sp, struct registry *r, const char *source, int store_it,
		       const char *event)
{
	const struct reg_node *old_hub = sp->reg ? registry_find(sp->reg, sp->conf.hub_name) : NULL;
	const struct reg_node *new_hub = registry_find(r, sp->conf.hub_name);
	int hub_changed =
		sp->reg && (!old_hub || !new_hub ||
			    memcmp(old_hub->box_pk, new_hub->box_pk, sizeof(os_box_pk)) != 0);
	if (store_it) {
		struct store_txn *t = NULL;
		int rc = spoke_txn(sp, &t);
		if (rc == 0)
			rc = spoke_wrote(sp, store_put(t, sp->db_registry, REGISTRY_KEY,
						       strlen(REGISTRY_KEY), r->signed_bytes,
						       r->signed_len));
		if (rc < 0) {
			registry_free(&r);
			return rc;
		}
	}
	registry_free(&sp->reg);
	sp->reg = r;
	os_log(OS_LOG_INFO, event, "version=%llu expires_ms=%llu nodes=%zu source=%s",
	       (unsigned long long)r->version, (unsigned long long)r->expires_ms, r->n_nodes,
	       source);
	trust_check_self(sp);
	trust_log_expired(sp);
	if (hub_changed) {
		if (!new_hub)
			os_log(OS_LOG_ERROR, "hub_unknown",
			       "hub=%s registry_version=%llu reason=\"not in the registry\"",
			       sp->conf.hub_name, (unsigned long long)r->version);
		spoke_hub_restart(sp);
	}
	return 0;
}

int trust_offer(struct spoke *sp, const uint8_t *buf, size_t len, const char *source, int *adopted)
{
	struct registry *r = NULL;
	int cmp;
	if (adopted)
		*adopted = 0;
	int rc = registry_parse(buf, len, sp->anchor, 0, &r);
	if (rc < 0) {
		os_log(OS_LOG_WARN, "registry_rejected", "source=%s code=%s reason=%s", source,
		       os_errname(rc), OS_Q(os_strerror(rc)));
		return rc;
	}
	cmp = sp->reg ? registry_compare(sp->reg, r) : 1;
	if (cmp < 0)
		os_log(OS_LOG_WARN, "registry_rollback_refused",
		       "source=%s version=%llu current=%llu reason=%s", source,
		       (unsigned long long)r->version, (unsigned long long)sp->reg->version,
		       OS_Q("it holds an older version of a registry in force"));
	if (cmp <= 0) {
		registry_free(&r);
		return 0;
	}
	if ((rc = trust_adopt(sp, r, source, 1, "registry_updated")) < 0)
		return rc;
	if (adopted)
		*adopted = 1;
	return 0;
}

int trust_start(struct spoke *sp)
{
	struct registry *cached = NULL, *file = NULL;
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;
	int crc, frc, rc;

	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;
	crc = store_get(t, sp->db_registry, REGISTRY_KEY, strlen(REGISTRY_KEY), &v, &vl);
	if (crc == 0)
		crc = registry_parse(v, vl, sp->anchor, 0, &cached);
	frc = registry_load(sp->conf.registry, sp->anchor, 0, &file);
	if (crc < 0 && frc < 0) {
		os_log(OS_LOG_ERROR, "registry_invalid",
		       "file=%s file_code=%s file_reason=%s store_code=%s store_reason=%s",
		       sp->conf.registry, os_errname(frc), OS_Q(os_strerror(frc)), os_errname(crc),
		       OS_Q(crc == OS_ENOTFOUND ? "no registry stored yet" : os_strerror(crc)));
		return frc;
	}
	if (frc < 0)
		os_log(OS_LOG_WARN, "registry_rejected", "source=file file=%s code=%s reason=%s",
		       sp->conf.registry, os_errname(frc), OS_Q(os_strerror(frc)));
	else if (crc < 0 && crc != OS_ENOTFOUND)
		os_log(OS_LOG_WARN, "registry_rejected", "source=store code=%s reason=%s",
		       os_errname(crc), OS_Q(os_strerror(crc)));
	if (file && (!cached || registry_compare(cached, file) > 0)) {
		registry_free(&cached);
		rc = trust_adopt(sp, file, "file", 1, "registry_loaded");
	} else {
		registry_free(&file);
		rc = trust_adopt(sp, cached, "store", 0, "registry_loaded");
	}
	return rc;
}

void trust_reload(struct spoke *sp)
{
	struct registry *r = NULL;
	int rc = registry_load(sp->conf.registry, sp->anchor, 0, &r);
	if (rc < 0) {
		os_log(OS_LOG_WARN, "registry_rejected", "source=file file=%s code=%s reason=%s",
		       sp->conf.registry, os_errname(rc), OS_Q(os_strerror(rc)));
		return;
	}
	if (registry_compare(sp->reg, r) <= 0) {
		os_log(OS_LOG_INFO, "registry_unchanged", "file=%s file_version=%llu version=%llu",
		       sp->conf.registry, (unsigned long long)r->version,
		       (unsigned long long)sp->reg->version);
		registry_free(&r);
		return;
	}
	trust_adopt(sp, r, "file", 1, "registry_updated");
}
