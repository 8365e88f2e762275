/*
 * Authentication failure counting and bans, keyed by a short string ("id:<device id>" or "ip:<address>").
 *
 * A key that fails `max_failures` times (failures older than the ban time are forgotten) is banned for
 * `ban_ms`. The table has a fixed number of slots so that a flood of bad REGISTERs from random IDs cannot
 * grow memory: when full, the least recently touched entry that is not banned is evicted (a banned one only
 * when every candidate is banned). Pure: time is a parameter, no allocation after create.
 */
#ifndef GB_SIGNALING_AUTH_BAN_H
#define GB_SIGNALING_AUTH_BAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_BAN_KEY_MAX 72

struct auth_ban;

/* capacity is rounded up to a power of two (at least 16). ban_ms 0 disables bans (failures still counted). */
struct auth_ban *auth_ban_create(size_t capacity, uint32_t max_failures, uint64_t ban_ms);
void auth_ban_destroy(struct auth_ban *ab);

/* True while `key` is banned. */
bool auth_ban_is_banned(const struct auth_ban *ab, const char *key, uint64_t now_ms);
/* Records a failure; returns true when this failure started a ban. */
bool auth_ban_failure(struct auth_ban *ab, const char *key, uint64_t now_ms);
/* Forgets the key's failures (a successful authentication). A running ban is not lifted. */
void auth_ban_success(struct auth_ban *ab, const char *key);
/* Lifts every ban and forgets every failure of `key` (API / tests). */
void auth_ban_clear(struct auth_ban *ab, const char *key);
/* Keys currently banned. */
size_t auth_ban_count_banned(const struct auth_ban *ab, uint64_t now_ms);

#endif
