/*
 * The control thread (signaling: libre re_main) and the worker threads talk only by posting tasks:
 * a function and its argument, run later on the target thread. Arguments carry plain data (ids, numbers,
 * copied strings, refcounted buffers), never a libre or libuv object.
 */
#ifndef GB_COMMON_CONTROL_H
#define GB_COMMON_CONTROL_H

typedef void (*task_fn)(void *arg);

/* Runs fn(arg) on the control thread. Safe from any thread. Returns 0 or ENOMEM/ESHUTDOWN (fn not run). */
int control_post(task_fn fn, void *arg);

/* Installed by app at start (libre mqueue); tests may install their own. */
void control_set_poster(int (*poster)(task_fn fn, void *arg));

#endif
