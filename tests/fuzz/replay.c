/* Replay driver for builds without libFuzzer: runs a fuzz target over every
 * file in the seed directories given on the command line, over a few
 * hundred deterministic mutations of each, and over short random inputs,
 * so that the ordinary test suite exercises every decoder. Each input is
 * passed in a buffer of exactly its size so sanitizers see overreads. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define REPLAY_MAX_FILE (1u << 20)
#define REPLAY_MAX_SEEDS 1024
#define REPLAY_GROW 256

struct seed {
	uint8_t *data;
	size_t len;
};

static uint64_t replay_rng;

/* splitmix64: small, deterministic, good enough to pick mutations. */
static uint64_t replay_next(void)
{
	uint64_t z = (replay_rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t replay_below(size_t n)
{
	return n == 0 ? 0 : (size_t)(replay_next() % n);
}

static void replay_run(const uint8_t *data, size_t len)
{
	/* An exact-size copy: reading one byte past the end is caught. */
	uint8_t *copy = malloc(len > 0 ? len : 1);
	if (copy == NULL) {
		fprintf(stderr, "replay: out of memory\n");
		exit(1);
	}
	if (len > 0)
		memcpy(copy, data, len);
	LLVMFuzzerTestOneInput(len > 0 ? copy : NULL, len);
	free(copy);
}

static int replay_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load every regular file of dir, in name order. */
static void replay_load_dir(const char *dir, struct seed *seeds, size_t *n)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "replay: no seed directory %s\n", dir);
		return;
	}
	char *names[REPLAY_MAX_SEEDS];
	size_t nn = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && nn < REPLAY_MAX_SEEDS) {
		if (de->d_name[0] == '.')
			continue;
		names[nn] = strdup(de->d_name);
		if (names[nn] != NULL)
			nn++;
	}
	closedir(d);
	qsort(names, nn, sizeof(char *), replay_cmp);
	for (size_t i = 0; i < nn; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		free(names[i]);
		uint8_t *buf = NULL;
		size_t len = 0;
		if (*n >= REPLAY_MAX_SEEDS || os_read_file(path, REPLAY_MAX_FILE, &buf, &len) != 0)
			continue;
		seeds[*n].data = buf;
		seeds[*n].len = len;
		(*n)++;
	}
}

/* One mutation of seed s (other: a second seed to splice from). */
static size_t replay_mutate(uint8_t *buf, size_t cap, const struct seed *s,
			    const struct seed *other)
{
	static const uint8_t interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x08};
	size_t len = s->len;
	memcpy(buf, s->data, len);
	unsigned ops = 1 + (unsigned)replay_below(4);
	for (unsigned k = 0; k < ops; k++) {
		switch (replay_below(8)) {
		case 0: /* flip a bit */
			if (len > 0)
				buf[replay_below(len)] ^= (uint8_t)(1u << replay_below(8));
			break;
		case 1: /* random byte */
			if (len > 0)
				buf[replay_below(len)] = (uint8_t)replay_next();
			break;
		case 2: /* insert a byte */
			if (len < cap) {
				size_t at = replay_below(len + 1);
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = (uint8_t)replay_next();
				len++;
			}
			break;
		case 3: /* delete a range */
			if (len > 0) {
				size_t at = replay_below(len);
				size_t del = 1 + replay_below(len - at < 16 ? len - at : 16);
				memmove(buf + at, buf + at + del, len - at - del);
				len -= del;
			}
			break;
		case 4: /* truncate */
			len = replay_below(len + 1);
			break;
		case 5: /* repeat a slice at the end */
			if (len > 0) {
				size_t at = replay_below(len);
				size_t cnt = 1 + replay_below(len - at);
				if (cnt > cap - len)
					cnt = cap - len;
				memmove(buf + len, buf + at, cnt);
				len += cnt;
			}
			break;
		case 6: /* an interesting byte (lengths, tags, varint edges) */
			if (len > 0)
				buf[replay_below(len)] =
					interesting[replay_below(sizeof(interesting))];
			break;
		case 7: /* splice the tail of another seed */
			if (other != NULL && other->len > 0) {
				size_t at = replay_below(len + 1);
				size_t from = replay_below(other->len);
				size_t cnt = other->len - from;
				if (at + cnt > cap)
					cnt = cap - at;
				memcpy(buf + at, other->data + from, cnt);
				len = at + cnt;
			}
			break;
		}
	}
	return len;
}

int main(int argc, char **argv)
{
	unsigned mutations = 300;
	static struct seed seeds[REPLAY_MAX_SEEDS];
	size_t n = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			mutations = (unsigned)strtoul(argv[++i], NULL, 10);
			continue;
		}
		replay_load_dir(argv[i], seeds, &n);
	}
	if (n == 0) {
		fprintf(stderr, "replay: no seeds found; usage: %s [-n MUTATIONS] DIR...\n",
			argv[0]);
		return 1;
	}
	size_t runs = 0;
	replay_run(NULL, 0);
	runs++;
	for (size_t i = 0; i < n; i++) {
		replay_run(seeds[i].data, seeds[i].len);
		runs++;
		size_t cap = seeds[i].len + REPLAY_GROW;
		uint8_t *buf = malloc(cap);
		if (buf == NULL)
			return 1;
		replay_rng = 0x5eed0000u + i;
		for (unsigned m = 0; m < mutations; m++) {
			const struct seed *other = &seeds[replay_below(n)];
			size_t len = replay_mutate(buf, cap, &seeds[i], other);
			replay_run(buf, len);
			runs++;
		}
		free(buf);
	}
	/* Short random inputs. */
	replay_rng = 0xfeedu;
	uint8_t rnd[512];
	for (unsigned m = 0; m < 200; m++) {
		size_t len = replay_below(sizeof(rnd));
		for (size_t k = 0; k < len; k++)
			rnd[k] = (uint8_t)replay_next();
		replay_run(rnd, len);
		runs++;
	}
	for (size_t i = 0; i < n; i++)
		free(seeds[i].data);
	printf("replay: %zu inputs from %zu seeds, no crash\n", runs, n);
	return 0;
}
