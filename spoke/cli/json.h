/* The JSON forms of dataset values in the onestop command: "identity" and
 * "items" values to and from JSON objects (jansson stays inside json.c),
 * and the UTF-8 handling that printing them needs. */
#ifndef ONESTOP_CLI_JSON_H
#define ONESTOP_CLI_JSON_H

#include <stddef.h>
#include <stdint.h>

/* One change read from JSON. Everything is malloc'd; clear with
 * cli_json_change_clear. */
struct cli_json_change {
	char *key; /* with_key only; else NULL */
	int is_delete;
	uint8_t *value; /* packed value; NULL for a delete */
	size_t len;
};

/* 1 when dataset has a JSON form (identity, items), else 0. */
int cli_json_known(const char *dataset);

/* Parse text (len bytes, one JSON object) into a change of dataset.
 * identity: {"kind":"person|enterprise","level":1..3,"status":"active|
 *   suspended|revoked|deceased","authority":NODE,"updated_ms":N (default
 *   now)}.
 * items: {"name":..,"owner":..,"kind":..,"online":BOOL,"offline_reason":..,
 *   "materials":[{"name":..,"shared_data":..}],"legal_days":N,
 *   "promised_days":N,"fee_cents":N,"regions":[..],"min_level":N};
 *   name, owner and online are required.
 * With with_key (a --jsonl line) the object also carries "key" and may
 * carry "delete": true (then nothing else); for a dataset without a JSON
 * form it is {"key":K,"value":"TEXT"} (the value is TEXT's bytes) or
 * {"key":K,"delete":true}. Without with_key dataset must have a JSON form.
 * An unknown field, a field of the wrong type, a missing required field or
 * a malformed object is OS_EINVAL with err (size err_size) saying which;
 * the value's full schema (ranges, node names) is the spoke's to check.
 * 0, OS_EINVAL or OS_ENOMEM. */
int cli_json_parse(const char *dataset, const char *text, size_t len, int with_key,
		   struct cli_json_change *out, char *err, size_t err_size);
void cli_json_change_clear(struct cli_json_change *c);

/* A packed value of dataset (identity or items) as indented JSON text in
 * the shape cli_json_parse reads, malloc'd into *text (free()), without a
 * trailing newline. Strings that are not UTF-8 show U+FFFD for each bad
 * byte. 0, OS_EDECODE (with err) or OS_ENOMEM. */
int cli_json_format(const char *dataset, const uint8_t *value, size_t len, char **text, char *err,
		    size_t err_size);

/* Decode one UTF-8 character of s (n bytes available) into *cp; returns its
 * length 1..4, or 0 for a malformed, overlong or surrogate sequence. */
size_t cli_utf8_next(const char *s, size_t n, uint32_t *cp);

/* Columns s takes on a terminal: East Asian wide characters count 2,
 * other characters 1 (a malformed byte counts 1). */
size_t cli_text_width(const char *s);

#endif
