/* The spoke's link to its hub: the common link client (common/uplink.h)
 * wired to the outbox (push source), the inbox (deliver sink), the
 * registry and the dataset replica, and published to the other modules as
 * sp->hub_io. */
#ifndef SPOKE_HUBLINK_H
#define SPOKE_HUBLINK_H

struct spoke;
struct loop;

/* Create the link in sp->up from sp->conf, sp->kp and sp->zctx (the hub's
 * key comes from the registry at each connect), fill sp->hub_io and start
 * connecting at once: the socket opens and says Hello. Needs the outbox,
 * inbox, registry and replica loaded. 0, OS_EINVAL (a bad bound in the
 * configuration) or OS_ENOMEM. */
int hublink_open(struct spoke *sp);

/* Register the link's hooks with the loop (see uplink_hooks: register it
 * after the modules whose after_commit reactions reload state, before the
 * API and the replica). 0 or OS_EFULL. */
int hublink_attach(struct spoke *sp, struct loop *l);

/* At a clean stop, after the last commit: send the deliver ack still owed. */
void hublink_stop(struct spoke *sp);

/* Close the link, free sp->up and empty sp->hub_io (NULL allowed). */
void hublink_close(struct spoke *sp);

#endif
