/*
 * control_post() for the control thread (libre's loop). Tasks wait in a mutex-protected list; libre's mqueue
 * only wakes the loop. At shutdown, after the workers stopped, app_control_drain() runs whatever they posted
 * last (port releases, replies), so nothing is lost or leaked between re_main() returning and exit.
 */
#include <errno.h>
#include <pthread.h>
#include <re.h>
#include <stdlib.h>

#include "app/app.h"
#include "common/control.h"

struct control_task {
    struct control_task *next;
    task_fn fn;
    void *arg;
};

static struct mqueue *queue;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct control_task *head, *tail;
static bool wake_pending, accepting;
static int (*poster)(task_fn fn, void *arg);

static struct control_task *take_all(void)
{
    pthread_mutex_lock(&lock);
    struct control_task *t = head;
    head = tail = NULL;
    wake_pending = false;
    pthread_mutex_unlock(&lock);
    return t;
}

static void run_all(struct control_task *t)
{
    while (t) {
        struct control_task *next = t->next;
        t->fn(t->arg);
        free(t);
        t = next;
    }
}

static void on_wake(int id, void *data, void *arg)
{
    run_all(take_all());
}

static int queue_poster(task_fn fn, void *arg)
{
    struct control_task *t = malloc(sizeof *t);
    if (!t) return ENOMEM;
    *t = (struct control_task){NULL, fn, arg};
    pthread_mutex_lock(&lock);
    if (!accepting) {
        pthread_mutex_unlock(&lock);
        free(t);
        return ESHUTDOWN;
    }
    if (tail)
        tail->next = t;
    else
        head = t;
    tail = t;
    bool wake = !wake_pending;
    wake_pending = true;
    /* pushed under the lock so the queue cannot be freed in between (app_control_close takes it too) */
    int err = wake ? mqueue_push(queue, 0, NULL) : 0;
    pthread_mutex_unlock(&lock);
    return err == 0 ? 0 : 0; /* the task is queued either way; a failed wake-up is caught by the next post */
}

void control_set_poster(int (*fn)(task_fn fn, void *arg))
{
    poster = fn;
}

int control_post(task_fn fn, void *arg)
{
    return poster ? poster(fn, arg) : ESHUTDOWN;
}

int app_control_init(void)
{
    int err = mqueue_alloc(&queue, on_wake, NULL);
    if (err) return err;
    accepting = true;
    control_set_poster(queue_poster);
    return 0;
}

void app_control_drain(void)
{
    for (int i = 0; i < 8; i++) {
        struct control_task *t = take_all();
        if (!t) break;
        run_all(t);
    }
}

void app_control_close(void)
{
    pthread_mutex_lock(&lock);
    accepting = false;
    pthread_mutex_unlock(&lock);
    app_control_drain();
    pthread_mutex_lock(&lock);
    queue = mem_deref(queue);
    pthread_mutex_unlock(&lock);
}
