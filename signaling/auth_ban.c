/*
 * Ban table: open addressing over a power-of-two array with a short probe window. Lookups and updates touch
 * at most PROBE_WINDOW slots; a key that does not fit evicts the least recently used unbanned slot of its
 * window. Keys longer than AUTH_BAN_KEY_MAX - 1 are cut (they are ours: "id:" + an ID of at most 32 chars or
 * "ip:" + an address).
 */
#include "signaling/auth_ban.h"

#include <stdlib.h>
#include <string.h>

#define PROBE_WINDOW 16

struct ban_slot {
    char key[AUTH_BAN_KEY_MAX]; /* "" = free */
    uint32_t failures;
    uint64_t last_failure_ms;
    uint64_t banned_until_ms;
    uint64_t touched_ms;
};

struct auth_ban {
    struct ban_slot *slots;
    size_t mask;
    uint32_t max_failures;
    uint64_t ban_ms;
};

static uint32_t key_hash(const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *key; key++) h = (h ^ (uint8_t)*key) * 16777619u;
    return h;
}

static void key_copy(char dst[AUTH_BAN_KEY_MAX], const char *key)
{
    size_t n = strnlen(key, AUTH_BAN_KEY_MAX - 1);
    memcpy(dst, key, n);
    dst[n] = 0;
}

struct auth_ban *auth_ban_create(size_t capacity, uint32_t max_failures, uint64_t ban_ms)
{
    size_t n = 16;
    while (n < capacity && n < ((size_t)1 << 24)) n <<= 1;
    struct auth_ban *ab = calloc(1, sizeof(*ab));
    if (!ab) return NULL;
    ab->slots = calloc(n, sizeof(*ab->slots));
    if (!ab->slots) {
        free(ab);
        return NULL;
    }
    ab->mask = n - 1;
    ab->max_failures = max_failures ? max_failures : 1;
    ab->ban_ms = ban_ms;
    return ab;
}

void auth_ban_destroy(struct auth_ban *ab)
{
    if (!ab) return;
    free(ab->slots);
    free(ab);
}

static struct ban_slot *slot_find(const struct auth_ban *ab, const char *key)
{
    char k[AUTH_BAN_KEY_MAX];
    key_copy(k, key);
    size_t start = key_hash(k) & ab->mask;
    for (size_t i = 0; i < PROBE_WINDOW && i <= ab->mask; i++) {
        struct ban_slot *s = &ab->slots[(start + i) & ab->mask];
        if (s->key[0] && strcmp(s->key, k) == 0) return s;
    }
    return NULL;
}

/* Finds the key's slot or claims one for it (a free slot, else the LRU unbanned one, else the LRU one). */
static struct ban_slot *slot_claim(struct auth_ban *ab, const char *key, uint64_t now_ms)
{
    struct ban_slot *s = slot_find(ab, key);
    if (s) return s;
    char k[AUTH_BAN_KEY_MAX];
    key_copy(k, key);
    size_t start = key_hash(k) & ab->mask;
    struct ban_slot *victim = NULL;
    bool victim_banned = true;
    for (size_t i = 0; i < PROBE_WINDOW && i <= ab->mask; i++) {
        struct ban_slot *c = &ab->slots[(start + i) & ab->mask];
        if (!c->key[0]) {
            victim = c;
            break;
        }
        bool banned = c->banned_until_ms > now_ms;
        if (!victim || (victim_banned && !banned) ||
            (banned == victim_banned && c->touched_ms < victim->touched_ms)) {
            victim = c;
            victim_banned = banned;
        }
    }
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->key, k, sizeof(k));
    return victim;
}

bool auth_ban_is_banned(const struct auth_ban *ab, const char *key, uint64_t now_ms)
{
    const struct ban_slot *s = slot_find(ab, key);
    return s && s->banned_until_ms > now_ms;
}

bool auth_ban_failure(struct auth_ban *ab, const char *key, uint64_t now_ms)
{
    struct ban_slot *s = slot_claim(ab, key, now_ms);
    /* Failures spread wider apart than a ban period do not add up to a ban. */
    uint64_t window = ab->ban_ms ? ab->ban_ms : 60000;
    if (s->failures && now_ms - s->last_failure_ms > window) s->failures = 0;
    s->failures++;
    s->last_failure_ms = now_ms;
    s->touched_ms = now_ms;
    if (ab->ban_ms && s->failures >= ab->max_failures && s->banned_until_ms <= now_ms) {
        s->banned_until_ms = now_ms + ab->ban_ms;
        s->failures = 0;
        return true;
    }
    return false;
}

void auth_ban_success(struct auth_ban *ab, const char *key)
{
    struct ban_slot *s = slot_find(ab, key);
    if (s) s->failures = 0;
}

void auth_ban_clear(struct auth_ban *ab, const char *key)
{
    struct ban_slot *s = slot_find(ab, key);
    if (s) memset(s, 0, sizeof(*s));
}

size_t auth_ban_count_banned(const struct auth_ban *ab, uint64_t now_ms)
{
    size_t n = 0;
    for (size_t i = 0; i <= ab->mask; i++)
        if (ab->slots[i].key[0] && ab->slots[i].banned_until_ms > now_ms) n++;
    return n;
}
