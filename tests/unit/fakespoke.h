/* A fake spoke for the unit tests of libonestop's calls: a ROUTER socket
 * on an ipc endpoint in a temporary directory, served by a thread of the
 * test that answers each request with the test's function and counts and
 * keeps what it was asked. One per test program. */
#ifndef OS_TEST_FAKESPOKE_H
#define OS_TEST_FAKESPOKE_H

#include "onestop.pb-c.h"

/* Fill rep (request_id set) for req; called with the fake's lock held. */
typedef void (*fake_fn)(const Onestop__ApiRequest *req, Onestop__ApiReply *rep);

/* Answer the next requests with fn and keep a copy of those of op last_op;
 * the counters start again. */
void fake_expect(fake_fn fn, int last_op);
/* Requests answered since fake_expect, in all and of op. */
int fake_requests(void);
int fake_ops(int op);
/* fake_ops from inside a fake_fn (the lock is held). */
int fake_ops_locked(int op);
/* The last request kept, decoded (free with
 * onestop__api_request__free_unpacked); fails the test when none. */
Onestop__ApiRequest *fake_last(void);

/* cmocka group set-up and tear-down: start the fake and give the test a
 * connected onestop_t * as its state; stop it and remove its directory. */
int fake_setup(void **state);
int fake_teardown(void **state);

#endif
