/* The state machine of a one-stop case: one table says which action may
 * follow which state, one says who makes each action, and a digest per
 * applied transition tells a repeated transition from a competing one. */
#include "case.h"

#include <string.h>

#include "crypto.h"
#include "err.h"

#define BIT(a) (1u << (a))

/* Actions that may follow each state (docs/PROTOCOL.md, "Cases"). */
static const unsigned case_next[CASE_STATE_COUNT] = {
	[CASE_NEW] = BIT(CASE_ACT_FILE),
	[CASE_FILED] = BIT(CASE_ACT_ACCEPT) | BIT(CASE_ACT_REJECT) | BIT(CASE_ACT_NEED_MORE) |
		       BIT(CASE_ACT_WITHDRAW),
	[CASE_MORE_NEEDED] = BIT(CASE_ACT_RESUBMIT) | BIT(CASE_ACT_WITHDRAW) | BIT(CASE_ACT_REJECT),
	[CASE_RESUBMITTED] = BIT(CASE_ACT_ACCEPT) | BIT(CASE_ACT_REJECT) | BIT(CASE_ACT_NEED_MORE) |
			     BIT(CASE_ACT_WITHDRAW),
	[CASE_ACCEPTED] = BIT(CASE_ACT_NEED_MORE) | BIT(CASE_ACT_DECIDE) | BIT(CASE_ACT_WITHDRAW),
	[CASE_DECIDED] = BIT(CASE_ACT_CLOSE),
	/* rejected, closed, withdrawn: final */
};

/* The state each action leads to, from wherever it is allowed. */
static const enum case_state case_target[CASE_ACTION_MAX + 1] = {
	[CASE_ACT_FILE] = CASE_FILED,           [CASE_ACT_ACCEPT] = CASE_ACCEPTED,
	[CASE_ACT_REJECT] = CASE_REJECTED,      [CASE_ACT_NEED_MORE] = CASE_MORE_NEEDED,
	[CASE_ACT_RESUBMIT] = CASE_RESUBMITTED, [CASE_ACT_DECIDE] = CASE_DECIDED,
	[CASE_ACT_CLOSE] = CASE_CLOSED,         [CASE_ACT_WITHDRAW] = CASE_WITHDRAWN,
};

/* Actions the filing node makes; the owning node makes the others. */
static const unsigned case_by_filer =
	BIT(CASE_ACT_FILE) | BIT(CASE_ACT_RESUBMIT) | BIT(CASE_ACT_WITHDRAW);

static const char *const case_state_names[CASE_STATE_COUNT] = {
	[CASE_NEW] = "new",
	[CASE_FILED] = "filed",
	[CASE_ACCEPTED] = "accepted",
	[CASE_REJECTED] = "rejected",
	[CASE_MORE_NEEDED] = "more_needed",
	[CASE_RESUBMITTED] = "resubmitted",
	[CASE_DECIDED] = "decided",
	[CASE_CLOSED] = "closed",
	[CASE_WITHDRAWN] = "withdrawn",
};

static const char *const case_action_names[CASE_ACTION_MAX + 1] = {
	[CASE_ACT_FILE] = "file",         [CASE_ACT_ACCEPT] = "accept",
	[CASE_ACT_REJECT] = "reject",     [CASE_ACT_NEED_MORE] = "need_more",
	[CASE_ACT_RESUBMIT] = "resubmit", [CASE_ACT_DECIDE] = "decide",
	[CASE_ACT_CLOSE] = "close",       [CASE_ACT_WITHDRAW] = "withdraw",
};

static const char *const case_outcome_names[] = {
	[CASE_OUTCOME_NONE] = "none",
	[CASE_APPROVED] = "approved",
	[CASE_DENIED] = "denied",
};
#define CASE_OUTCOME_COUNT (sizeof(case_outcome_names) / sizeof(case_outcome_names[0]))

/* The longest path of the table must fit the digests kept: it is FILE,
 * ACCEPT, then rounds of NEED_MORE, RESUBMIT, ACCEPT, then DECIDE, CLOSE. */
_Static_assert(CASE_STEPS_MAX >= 2 + 3 * CASE_MORE_MAX + 2, "a case must fit its digests");
_Static_assert(CASE_DIGEST_LEN <= sizeof(os_hash), "digest is a truncated BLAKE2b-256");

int case_record_init(struct case_record *r, const char *filer, const char *owner)
{
	if (r == NULL || filer == NULL || owner == NULL)
		return OS_EINVAL;
	if (os_name_valid(filer) != 0 || os_name_valid(owner) != 0)
		return OS_ENAME;
	/* os_name_valid bounds a name well below OS_NAME_MAX. */
	if (strlen(filer) >= sizeof(r->filer) || strlen(owner) >= sizeof(r->owner))
		return OS_ENAME;
	memset(r, 0, sizeof(*r));
	r->state = CASE_NEW;
	r->outcome = CASE_OUTCOME_NONE;
	memcpy(r->filer, filer, strlen(filer) + 1);
	memcpy(r->owner, owner, strlen(owner) + 1);
	return 0;
}

/* What makes two transitions of a case the same: every field case_apply
 * looks at, then the caller's content. Lengths go first so that no two
 * different (actor, content) pairs hash the same bytes. */
static void case_step_digest(uint8_t out[CASE_DIGEST_LEN], const struct case_step *t)
{
	static const char ctx[] = "OneStop case step v1"; /* NUL included below */
	uint8_t head[8 + 1 + 1 + 8 + 8];
	size_t alen = strlen(t->actor);
	os_hash_state st;
	os_hash h;

	os_put_u64be(head, t->seq);
	head[8] = (uint8_t)t->action;
	head[9] = (uint8_t)t->outcome;
	os_put_u64be(head + 10, (uint64_t)alen);
	os_put_u64be(head + 18, (uint64_t)t->content_len);
	crypto_digest_init(&st);
	crypto_digest_update(&st, (const uint8_t *)ctx, sizeof(ctx));
	crypto_digest_update(&st, head, sizeof(head));
	crypto_digest_update(&st, (const uint8_t *)t->actor, alen);
	if (t->content_len > 0)
		crypto_digest_update(&st, t->content, t->content_len);
	crypto_digest_final(&st, h);
	memcpy(out, h, CASE_DIGEST_LEN);
}

/* The checks that need no record: a step well formed on its own. */
static int case_step_valid(const struct case_step *t)
{
	if (t->actor == NULL || t->seq == 0)
		return OS_EINVAL;
	if ((int)t->action < CASE_ACT_FILE || (int)t->action > CASE_ACTION_MAX)
		return OS_EINVAL;
	if (t->content == NULL && t->content_len > 0)
		return OS_EINVAL;
	if (t->action == CASE_ACT_DECIDE)
		return t->outcome == CASE_APPROVED || t->outcome == CASE_DENIED ? 0 : OS_EINVAL;
	return t->outcome == CASE_OUTCOME_NONE ? 0 : OS_EINVAL;
}

int case_apply(struct case_record *r, const struct case_step *t, int *duplicate)
{
	uint8_t d[CASE_DIGEST_LEN];
	int rc;

	if (duplicate != NULL)
		*duplicate = 0;
	if (r == NULL || t == NULL)
		return OS_EINVAL;
	/* A record read back from a store may be damaged: refuse one that
	 * case_apply could never have made. */
	if ((int)r->state < 0 || (int)r->state >= CASE_STATE_COUNT || r->seq > CASE_STEPS_MAX ||
	    r->more_asked > CASE_MORE_MAX)
		return OS_EINVAL;
	rc = case_step_valid(t);
	if (rc != 0)
		return rc;

	if (t->seq <= r->seq) {
		/* r->seq <= CASE_STEPS_MAX: the digest of every seq up to it is held. */
		case_step_digest(d, t);
		if (memcmp(d, r->digest[t->seq - 1], CASE_DIGEST_LEN) != 0)
			return OS_ECONFLICT;
		if (duplicate != NULL)
			*duplicate = 1;
		return 0;
	}
	if (t->seq > r->seq + 1)
		return OS_EGAP;

	/* Who makes an action does not depend on the state: a node that may
	 * never make it hears so, not that the case is elsewhere. */
	const char *may = (case_by_filer & BIT(t->action)) ? r->filer : r->owner;
	if (strcmp(t->actor, may) != 0)
		return OS_ENOTALLOWED;
	if (!case_allowed(r->state, t->action))
		return OS_ESTATE;
	if (t->action == CASE_ACT_NEED_MORE && r->more_asked >= CASE_MORE_MAX)
		return OS_ESTATE;
	/* The table and CASE_MORE_MAX keep every case within its digests; a
	 * record that says otherwise (more_asked understated) is damaged. */
	if (t->seq > CASE_STEPS_MAX)
		return OS_EINVAL;

	case_step_digest(r->digest[t->seq - 1], t);
	r->seq = t->seq;
	r->state = case_target[t->action];
	if (t->action == CASE_ACT_NEED_MORE)
		r->more_asked++;
	if (t->action == CASE_ACT_DECIDE)
		r->outcome = t->outcome;
	return 0;
}

int case_allowed(enum case_state state, enum case_action action)
{
	if ((int)state < 0 || (int)state >= CASE_STATE_COUNT)
		return 0;
	if ((int)action < CASE_ACT_FILE || (int)action > CASE_ACTION_MAX)
		return 0;
	return (case_next[state] & BIT(action)) != 0;
}

int case_state_final(enum case_state state)
{
	return state == CASE_REJECTED || state == CASE_CLOSED || state == CASE_WITHDRAWN;
}

const char *case_state_name(enum case_state state)
{
	if ((int)state < 0 || (int)state >= CASE_STATE_COUNT)
		return "unknown";
	return case_state_names[state];
}

const char *case_action_name(enum case_action action)
{
	if ((int)action < CASE_ACT_FILE || (int)action > CASE_ACTION_MAX)
		return "unknown";
	return case_action_names[action];
}

const char *case_outcome_name(enum case_outcome outcome)
{
	if ((int)outcome < 0 || (size_t)outcome >= CASE_OUTCOME_COUNT)
		return "unknown";
	return case_outcome_names[outcome];
}

/* The index of name in names[lo..n), or -1. */
static int case_lookup(const char *const *names, int lo, int n, const char *name)
{
	for (int i = lo; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return i;
	return -1;
}

int case_state_parse(const char *name, enum case_state *out)
{
	if (name == NULL || out == NULL)
		return OS_EINVAL;
	int i = case_lookup(case_state_names, 0, CASE_STATE_COUNT, name);
	if (i < 0)
		return OS_EINVAL;
	*out = (enum case_state)i;
	return 0;
}

int case_action_parse(const char *name, enum case_action *out)
{
	if (name == NULL || out == NULL)
		return OS_EINVAL;
	int i = case_lookup(case_action_names, CASE_ACT_FILE, CASE_ACTION_MAX + 1, name);
	if (i < 0)
		return OS_EINVAL;
	*out = (enum case_action)i;
	return 0;
}

int case_outcome_parse(const char *name, enum case_outcome *out)
{
	if (name == NULL || out == NULL)
		return OS_EINVAL;
	int i = case_lookup(case_outcome_names, 0, (int)CASE_OUTCOME_COUNT, name);
	if (i < 0)
		return OS_EINVAL;
	*out = (enum case_outcome)i;
	return 0;
}
