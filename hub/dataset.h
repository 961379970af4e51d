/* The hub's replicated datasets (docs/ARCHITECTURE.md "Shared datasets",
 * PROTOCOL 9 and 13.5): for each declared dataset this hub is its
 * sequencer (applies accepted changes into ds_entries, ds_log and ds_meta
 * inside the iteration's transaction), its parent's relay (writes the
 * parent's Changes and Snapshots at their seqs into the same databases,
 * ds_relay keeping where the copy stands, and acknowledges up after the
 * commit), or neither (another province's dataset). Either way it keeps
 * the per-session streams of Changes and Snapshot frames under the spoke's
 * window, with DatasetAcks and Fetch answers, from its own copy. Routing
 * calls dataset_apply; the link and the parent link reach the other entry
 * points through the ops tables wiring.c fills. */
#ifndef HUB_DATASET_H
#define HUB_DATASET_H

#include <stddef.h>
#include <stdint.h>

/* This header shadows common/dataset.h for quoted includes made from hub/,
 * so the common one (DS_* names, ds_change_*) is named by its path. */
#include "../common/dataset.h"
#include "envelope.h"
#include "hub.h"
#include "onestop.pb-c.h"

#define DATASET_FRAME_ITEMS 1000u      /* changes or entries per frame */
#define DATASET_FRAME_BYTES (4u << 20) /* soft bound on one frame */
#define DATASET_SNAP_INFLIGHT 8u       /* snapshot chunks unacknowledged */
#define DATASET_COMPACT_BUDGET 20000u  /* log entries removed per iteration */

struct dataset;
struct loop;

/* Open the dataset databases in h->st (no transaction may be open) and
 * the module state in h->ds. 0, OS_ENOMEM or OS_ESTORE. */
int dataset_open(struct hub *h);
/* Free h->ds (NULL allowed). */
void dataset_close(struct hub *h);

/* Register the datasets' hook (after the link's): its work compacts the
 * logs that grew past dataset_log_max (bounded) and fills every session's
 * dataset streams: Changes within the window, Snapshot chunks (at most
 * DATASET_SNAP_INFLIGHT unacknowledged), frames held by the link until the
 * commit; after a failed commit every stream goes back to its last
 * acknowledged point; its timers restart the streams whose acks stalled
 * for three heartbeats (a snapshot starts over); its deadline is now
 * while it has work (not before a backoff ends), else its next timer run.
 * 0 or OS_EFULL. */
int dataset_attach(struct hub *h, struct loop *l);

/* Sequence one change: e is the verified envelope (type DS_CHANGE_TYPE,
 * destination this hub) and msg its packed Signed of len bytes. Inside the
 * iteration's transaction it checks the change with ds_change_allowed
 * against the stored entry, gives it the dataset's next seq, writes or
 * deletes the entry and appends msg to the log. A refused change leaves
 * the store untouched and sets *code (nonzero) and reason (one sentence):
 * besides the codes of ds_change_allowed, OS_ENOTALLOWED for a declared
 * dataset this hub does not sequence (its registry names another hub as
 * its sequencer). An accepted one sets *code to 0 and *seq. Returns 0, or
 * a store error that spoils the iteration. */
int dataset_apply(struct hub *h, const struct env *e, const uint8_t *msg, size_t len, int *code,
		  char *reason, size_t reason_size, uint64_t *seq);

/* A session (re)started with Hello: plan a stream per dataset this hub
 * holds (sequences or relays) that is visible to node, except for a child
 * hub the datasets it sequences itself, from the positions it reports (a
 * position of another sequencer store, by its epoch, gets a snapshot; a
 * child hub's snapshots carry every entry, cached datasets too). The
 * streams of a relayed dataset wait while this hub's copy is incomplete.
 * OS_ENOMEM spoils the iteration. */
void dataset_hello(struct hub *h, const char *node, const Onestop__Hello *hello);
/* node's session ended: forget its streams. */
void dataset_session_end(struct hub *h, const char *node);

/* A DatasetAck from node. */
void dataset_ack(struct hub *h, const char *node, const Onestop__DatasetAck *a);
/* A Fetch from node: the answer (read in the iteration's transaction) is
 * held until the commit: the entry of this hub's copy, or code
 * OS_ENOTFOUND (a dataset it does not hold), OS_EINVAL (a bad key),
 * OS_EAGAIN (a relayed copy not whole yet). A store error spoils the
 * iteration. */
void dataset_fetch(struct hub *h, const char *node, const Onestop__Fetch *f);

/* A dataset frame to node found its pipe full and was not sent: its
 * streams go back to the last acknowledged point. */
void dataset_blocked(struct hub *h, const char *node);

/* Federation (PROTOCOL 13.5): this hub as its parent's replica of the
 * datasets it relays (visible here, sequenced by another hub, and this hub
 * has a parent). parent_ops members, see hub/parent.h. */

/* Fill hello->datasets (allocated; hello_done frees them) with a position
 * per relayed dataset: the seq held and the sequencer epoch it belongs to
 * (seq 0 while a snapshot is incomplete: it is dropped before the next
 * frame). Memory only: safe outside an iteration. */
void dataset_parent_hello(struct hub *h, Onestop__Hello *hello);
void dataset_parent_hello_done(struct hub *h, Onestop__Hello *hello);
/* The parent session opened (its epoch is not a dataset's). 0. */
int dataset_parent_welcome(struct hub *h, const uint8_t *peer_epoch);
/* Changes or Snapshot from the parent, written in the iteration's
 * transaction: each change at exactly the copy's seq + 1 is appended to
 * the log byte for byte and its entry written when it passes 9.2 as a
 * spoke decides (signature, rights, schema, addressed to the sequencer;
 * a failing one is logged as change_rejected); snapshot chunks replace the
 * copy. Frames of a dataset this hub does not relay, of another sequencer
 * store than the copy's (Changes) or of a snapshot given up are dropped;
 * Fetched is ignored. After the commit a DatasetAck per dataset written
 * goes up (parent_send_frame). 0 or a store error (it spoils the
 * iteration). */
int dataset_parent_frame(struct hub *h, const Onestop__LinkFrame *f);

/* `onestop-hub --dataset-digest NAME`: open the store in data_dir (also
 * while the hub runs; nothing is written), print
 * "dataset=NAME seq=N count=N digest=HEX" on stdout. 0, or an error
 * (printed on stderr). */
int dataset_digest_print(const char *data_dir, size_t map_mb, const char *name);

#endif
