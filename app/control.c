/* control_post() on libre: tasks for the control thread travel through one mqueue (a pipe libre polls). */
#include <errno.h>
#include <re.h>
#include <stdlib.h>

#include "app/app.h"
#include "common/control.h"

struct control_task {
    task_fn fn;
    void *arg;
};

static struct mqueue *queue;
static int (*poster)(task_fn fn, void *arg);

static void on_message(int id, void *data, void *arg)
{
    struct control_task *t = data;
    t->fn(t->arg);
    free(t);
}

static int mqueue_poster(task_fn fn, void *arg)
{
    if (!queue) return ESHUTDOWN;
    struct control_task *t = malloc(sizeof *t);
    if (!t) return ENOMEM;
    t->fn = fn;
    t->arg = arg;
    int err = mqueue_push(queue, 0, t);
    if (err) free(t);
    return err;
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
    int err = mqueue_alloc(&queue, on_message, NULL);
    if (!err) control_set_poster(mqueue_poster);
    return err;
}

void app_control_close(void)
{
    control_set_poster(NULL);
    queue = mem_deref(queue);
}
