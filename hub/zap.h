/* The hub's ZAP handler (ZeroMQ authentication, RFC 27) on
 * inproc://zeromq.zap.01: admits a CURVE client only when its public key is
 * the box_pk of an active registry node, and names it by the User-Id. */
#ifndef HUB_ZAP_H
#define HUB_ZAP_H

#include "hub.h"

#define ZAP_DOMAIN "onestop"
/* Refused handshakes are logged at most ZAP_LOG_BURST times per
 * ZAP_LOG_INTERVAL_MS (per kind: ZAP denial, transport failure), then
 * summarised (common/log.h os_log_allow). */
#define ZAP_LOG_BURST 20u
#define ZAP_LOG_INTERVAL_MS 60000u

/* Bind the handler's REP socket in h->zctx into h->zap. Must run before the
 * ROUTER binds. 0 or OS_EIO. */
int zap_open(struct hub *h);

/* Answer up to max pending requests (non-blocking) from h->reg. */
void zap_handle(struct hub *h, unsigned max);

struct loop;

/* Register the handler's hook: it polls h->zap and its drain answers up to
 * HUB_ZAP_MAX requests. 0 or OS_EFULL. */
int zap_attach(struct hub *h, struct loop *l);

#endif
