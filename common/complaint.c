/* The state machine of complaints and consultations: one table says which
 * action may follow which state, a rule per action says who makes it, and a
 * digest per applied step tells a repeated step from a competing one. Also
 * the syntax of `about`, node regions and the choice of a supervisor. */
#include "complaint.h"

#include <string.h>

#include "crypto.h"
#include "err.h"

#define BIT(a) (1u << (a))

/* Actions that may follow each state (docs/PROTOCOL.md, "Complaints and
 * consultations"). */
static const unsigned complaint_next[COMPLAINT_STATE_COUNT] = {
	[COMPLAINT_NEW] = BIT(COMPLAINT_ACT_FILE),
	[COMPLAINT_RECEIVED] = BIT(COMPLAINT_ACT_ASSIGN) | BIT(COMPLAINT_ACT_ANSWER),
	[COMPLAINT_ASSIGNED] = BIT(COMPLAINT_ACT_ANSWER),
	[COMPLAINT_ANSWERED] = BIT(COMPLAINT_ACT_CLOSE) | BIT(COMPLAINT_ACT_REOPEN),
	[COMPLAINT_REOPENED] = BIT(COMPLAINT_ACT_ASSIGN) | BIT(COMPLAINT_ACT_ANSWER),
	/* closed: final */
};

/* The state each action leads to, from wherever it is allowed. */
static const enum complaint_state complaint_target[COMPLAINT_ACTION_MAX + 1] = {
	[COMPLAINT_ACT_FILE] = COMPLAINT_RECEIVED,   [COMPLAINT_ACT_ASSIGN] = COMPLAINT_ASSIGNED,
	[COMPLAINT_ACT_ANSWER] = COMPLAINT_ANSWERED, [COMPLAINT_ACT_CLOSE] = COMPLAINT_CLOSED,
	[COMPLAINT_ACT_REOPEN] = COMPLAINT_REOPENED,
};

static const char *const complaint_state_names[COMPLAINT_STATE_COUNT] = {
	[COMPLAINT_NEW] = "new",           [COMPLAINT_RECEIVED] = "received",
	[COMPLAINT_ASSIGNED] = "assigned", [COMPLAINT_ANSWERED] = "answered",
	[COMPLAINT_CLOSED] = "closed",     [COMPLAINT_REOPENED] = "reopened",
};

static const char *const complaint_action_names[COMPLAINT_ACTION_MAX + 1] = {
	[COMPLAINT_ACT_FILE] = "file",     [COMPLAINT_ACT_ASSIGN] = "assign",
	[COMPLAINT_ACT_ANSWER] = "answer", [COMPLAINT_ACT_CLOSE] = "close",
	[COMPLAINT_ACT_REOPEN] = "reopen",
};

static const char *const complaint_kind_names[] = {
	[COMPLAINT_KIND_COMPLAINT] = "complaint",
	[COMPLAINT_KIND_CONSULTATION] = "consultation",
};
#define COMPLAINT_KIND_END ((int)(sizeof(complaint_kind_names) / sizeof(complaint_kind_names[0])))

/* The longest path of the table must fit the digests kept: FILE, then per
 * round ASSIGN, ANSWER and a REOPEN or the final CLOSE. */
_Static_assert(COMPLAINT_STEPS_MAX >= 1 + 3 * (COMPLAINT_REOPEN_MAX + 1),
	       "a complaint must fit its digests");
_Static_assert(COMPLAINT_DIGEST_LEN <= sizeof(os_hash), "digest is a truncated BLAKE2b-256");

static int complaint_kind_valid(enum complaint_kind kind)
{
	return kind == COMPLAINT_KIND_COMPLAINT || kind == COMPLAINT_KIND_CONSULTATION;
}

int complaint_record_init(struct complaint_record *r, enum complaint_kind kind, const char *filer,
			  const char *handler)
{
	if (r == NULL || filer == NULL || handler == NULL || !complaint_kind_valid(kind))
		return OS_EINVAL;
	if (os_name_valid(filer) != 0 || os_name_valid(handler) != 0)
		return OS_ENAME;
	/* os_name_valid bounds a name well below OS_NAME_MAX. */
	if (strlen(filer) >= sizeof(r->filer) || strlen(handler) >= sizeof(r->handler))
		return OS_ENAME;
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->state = COMPLAINT_NEW;
	memcpy(r->filer, filer, strlen(filer) + 1);
	memcpy(r->handler, handler, strlen(handler) + 1);
	return 0;
}

/* Feed a length-prefixed string (NULL hashes as absent, "" as empty). */
static void complaint_digest_str(os_hash_state *st, const char *s)
{
	uint8_t len[8];
	/* Absent and empty differ: absent is all ones. */
	os_put_u64be(len, s != NULL ? (uint64_t)strlen(s) : UINT64_MAX);
	crypto_digest_update(st, len, sizeof(len));
	if (s != NULL)
		crypto_digest_update(st, (const uint8_t *)s, strlen(s));
}

/* What makes two steps of a complaint the same: every field complaint_apply
 * looks at, then the caller's content. Each part carries its length, so
 * that no two different steps hash the same bytes. */
static void complaint_step_digest(uint8_t out[COMPLAINT_DIGEST_LEN], const struct complaint_step *t)
{
	static const char ctx[] = "OneStop complaint step v1"; /* NUL included below */
	uint8_t head[8 + 1 + 8];
	os_hash_state st;
	os_hash h;

	os_put_u64be(head, t->seq);
	head[8] = (uint8_t)t->action;
	os_put_u64be(head + 9, (uint64_t)t->content_len);
	crypto_digest_init(&st);
	crypto_digest_update(&st, (const uint8_t *)ctx, sizeof(ctx));
	crypto_digest_update(&st, head, sizeof(head));
	complaint_digest_str(&st, t->actor);
	complaint_digest_str(&st, t->assignee);
	if (t->content_len > 0)
		crypto_digest_update(&st, t->content, t->content_len);
	crypto_digest_final(&st, h);
	memcpy(out, h, COMPLAINT_DIGEST_LEN);
}

/* The checks that need no record: a step well formed on its own. */
static int complaint_step_valid(const struct complaint_step *t)
{
	if (t->actor == NULL || t->seq == 0)
		return OS_EINVAL;
	if ((int)t->action < COMPLAINT_ACT_FILE || (int)t->action > COMPLAINT_ACTION_MAX)
		return OS_EINVAL;
	if (t->content == NULL && t->content_len > 0)
		return OS_EINVAL;
	if (t->action == COMPLAINT_ACT_ASSIGN)
		return t->assignee != NULL && os_name_valid(t->assignee) == 0 ? 0 : OS_EINVAL;
	return t->assignee == NULL ? 0 : OS_EINVAL;
}

/* A record read back from a store may be damaged: 1 when complaint_apply
 * could have made it. */
static int complaint_record_sane(const struct complaint_record *r)
{
	if (!complaint_kind_valid(r->kind))
		return 0;
	if ((int)r->state < 0 || (int)r->state >= COMPLAINT_STATE_COUNT)
		return 0;
	if (r->seq > COMPLAINT_STEPS_MAX || r->reopened > COMPLAINT_REOPEN_MAX)
		return 0;
	return memchr(r->filer, '\0', sizeof(r->filer)) != NULL &&
	       memchr(r->handler, '\0', sizeof(r->handler)) != NULL &&
	       memchr(r->assignee, '\0', sizeof(r->assignee)) != NULL;
}

/* 1 when actor may make t's action in r whatever the state's table says
 * (the assignee's right to answer lasts while r is assigned). */
static int complaint_actor_may(const struct complaint_record *r, enum complaint_action action,
			       const char *actor)
{
	int filer = strcmp(actor, r->filer) == 0;
	int handler = strcmp(actor, r->handler) == 0;

	switch (action) {
	case COMPLAINT_ACT_FILE:
	case COMPLAINT_ACT_REOPEN:
		return filer;
	case COMPLAINT_ACT_ASSIGN:
		return handler;
	case COMPLAINT_ACT_CLOSE:
		return handler || filer;
	case COMPLAINT_ACT_ANSWER:
		return handler || (r->state == COMPLAINT_ASSIGNED && r->assignee[0] != '\0' &&
				   strcmp(actor, r->assignee) == 0);
	}
	return 0;
}

int complaint_apply(struct complaint_record *r, const struct complaint_step *t, int *duplicate)
{
	uint8_t d[COMPLAINT_DIGEST_LEN];
	int rc;

	if (duplicate != NULL)
		*duplicate = 0;
	if (r == NULL || t == NULL)
		return OS_EINVAL;
	if (!complaint_record_sane(r))
		return OS_EINVAL;
	rc = complaint_step_valid(t);
	if (rc != 0)
		return rc;

	if (t->seq <= r->seq) {
		/* r->seq <= COMPLAINT_STEPS_MAX: every digest up to it is held. */
		complaint_step_digest(d, t);
		if (memcmp(d, r->digest[t->seq - 1], COMPLAINT_DIGEST_LEN) != 0)
			return OS_ECONFLICT;
		if (duplicate != NULL)
			*duplicate = 1;
		return 0;
	}
	if (t->seq > r->seq + 1)
		return OS_EGAP;

	if (!complaint_actor_may(r, t->action, t->actor))
		return OS_ENOTALLOWED;
	if (!complaint_allowed(r->state, t->action))
		return OS_ESTATE;
	if (t->action == COMPLAINT_ACT_REOPEN && r->reopened >= COMPLAINT_REOPEN_MAX)
		return OS_ESTATE;
	/* The table and the reopen bound keep every complaint within its
	 * digests; a record that says otherwise (reopened understated) is
	 * damaged. */
	if (t->seq > COMPLAINT_STEPS_MAX)
		return OS_EINVAL;

	complaint_step_digest(r->digest[t->seq - 1], t);
	r->seq = t->seq;
	r->state = complaint_target[t->action];
	if (t->action == COMPLAINT_ACT_REOPEN)
		r->reopened++;
	if (t->action == COMPLAINT_ACT_ASSIGN)
		memcpy(r->assignee, t->assignee, strlen(t->assignee) + 1);
	return 0;
}

int complaint_allowed(enum complaint_state state, enum complaint_action action)
{
	if ((int)state < 0 || (int)state >= COMPLAINT_STATE_COUNT)
		return 0;
	if ((int)action < COMPLAINT_ACT_FILE || (int)action > COMPLAINT_ACTION_MAX)
		return 0;
	return (complaint_next[state] & BIT(action)) != 0;
}

int complaint_state_final(enum complaint_state state)
{
	return state == COMPLAINT_CLOSED;
}

int complaint_state_awaiting(enum complaint_state state)
{
	return state == COMPLAINT_RECEIVED || state == COMPLAINT_ASSIGNED ||
	       state == COMPLAINT_REOPENED;
}

const char *complaint_state_name(enum complaint_state state)
{
	if ((int)state < 0 || (int)state >= COMPLAINT_STATE_COUNT)
		return "unknown";
	return complaint_state_names[state];
}

const char *complaint_action_name(enum complaint_action action)
{
	if ((int)action < COMPLAINT_ACT_FILE || (int)action > COMPLAINT_ACTION_MAX)
		return "unknown";
	return complaint_action_names[action];
}

const char *complaint_kind_name(enum complaint_kind kind)
{
	if (!complaint_kind_valid(kind))
		return "unknown";
	return complaint_kind_names[kind];
}

/* The index of name in names[lo..n), or -1. */
static int complaint_lookup(const char *const *names, int lo, int n, const char *name)
{
	for (int i = lo; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return i;
	return -1;
}

int complaint_state_parse(const char *name, enum complaint_state *out)
{
	if (name == NULL || out == NULL)
		return OS_EINVAL;
	int i = complaint_lookup(complaint_state_names, 0, COMPLAINT_STATE_COUNT, name);
	if (i < 0)
		return OS_EINVAL;
	*out = (enum complaint_state)i;
	return 0;
}

int complaint_action_parse(const char *name, enum complaint_action *out)
{
	if (name == NULL || out == NULL)
		return OS_EINVAL;
	int i = complaint_lookup(complaint_action_names, COMPLAINT_ACT_FILE,
				 COMPLAINT_ACTION_MAX + 1, name);
	if (i < 0)
		return OS_EINVAL;
	*out = (enum complaint_action)i;
	return 0;
}

int complaint_kind_parse(const char *name, enum complaint_kind *out)
{
	if (name == NULL || out == NULL)
		return OS_EINVAL;
	int i = complaint_lookup(complaint_kind_names, COMPLAINT_KIND_COMPLAINT, COMPLAINT_KIND_END,
				 name);
	if (i < 0)
		return OS_EINVAL;
	*out = (enum complaint_kind)i;
	return 0;
}

/* 1 when s is exactly n lowercase hex digits. */
static int complaint_lower_hex(const char *s, size_t n)
{
	size_t i = 0;
	for (; s[i] != '\0'; i++) {
		if (i >= n)
			return 0;
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return i == n;
}

int complaint_about_parse(const char *about, struct complaint_about *out)
{
	struct complaint_about a;

	if (about == NULL || out == NULL)
		return OS_EINVAL;
	memset(&a, 0, sizeof(a));
	if (strncmp(about, "case:", 5) == 0) {
		const char *hex = about + 5;
		if (!complaint_lower_hex(hex, 2 * COMPLAINT_CASE_ID_LEN) ||
		    os_unhex(a.case_id, COMPLAINT_CASE_ID_LEN, hex) != 0)
			return OS_EINVAL;
		a.kind = COMPLAINT_ABOUT_CASE;
	} else if (strncmp(about, "item:", 5) == 0) {
		if (ds_key_valid(about + 5) != 0)
			return OS_EINVAL;
		a.kind = COMPLAINT_ABOUT_ITEM;
	} else if (strncmp(about, "node:", 5) == 0) {
		if (os_name_valid(about + 5) != 0)
			return OS_EINVAL;
		a.kind = COMPLAINT_ABOUT_NODE;
	} else {
		return OS_EINVAL;
	}
	if (a.kind != COMPLAINT_ABOUT_CASE) {
		/* Both checks bound the text to DS_KEY_MAX bytes, a name below it. */
		size_t n = strlen(about + 5);
		if (n >= sizeof(a.name))
			return OS_EINVAL;
		memcpy(a.name, about + 5, n + 1);
	}
	*out = a;
	return 0;
}

int complaint_region(const char *node, char *out, size_t size)
{
	if (node == NULL || out == NULL)
		return OS_EINVAL;
	if (os_name_valid(node) != 0)
		return OS_ENAME;
	const char *dot = strrchr(node, '.');
	if (dot == NULL)
		return OS_ENAME;
	size_t n = (size_t)(dot - node);
	if (n + 1 > size)
		return OS_EINVAL;
	memcpy(out, node, n);
	out[n] = '\0';
	return 0;
}

/* The first active supervisor, by name, whose region is exactly region. */
static const struct reg_node *complaint_supervisor_in(const struct registry *reg,
						      const char *region)
{
	size_t rlen = strlen(region);

	for (size_t i = 0; i < reg->n_nodes; i++) {
		const struct reg_node *n = &reg->nodes[i];
		if (!(n->roles & REG_ROLE_SUPERVISOR) || !registry_node_active(n) ||
		    n->name == NULL)
			continue;
		/* Its region is region when the name is region, a dot and
		 * one more label. */
		if (strncmp(n->name, region, rlen) != 0 || n->name[rlen] != '.' ||
		    strchr(n->name + rlen + 1, '.') != NULL)
			continue;
		return n;
	}
	return NULL;
}

int complaint_supervisor(const struct registry *reg, const char *region,
			 const struct reg_node **out)
{
	char r[OS_NAME_MAX];

	if (reg == NULL || region == NULL || out == NULL)
		return OS_EINVAL;
	if (os_name_valid(region) != 0 || strlen(region) >= sizeof(r))
		return OS_ENAME;
	memcpy(r, region, strlen(region) + 1);
	/* region, then each enclosing region down to its first label. */
	for (;;) {
		const struct reg_node *n = complaint_supervisor_in(reg, r);
		if (n != NULL) {
			*out = n;
			return 0;
		}
		char *dot = strrchr(r, '.');
		if (dot == NULL)
			break;
		*dot = '\0';
	}
	return OS_ENOTFOUND;
}
