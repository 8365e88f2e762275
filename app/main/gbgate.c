/* gbgate: GB/T 28181 media gateway. Everything is in app/app.c; this file only makes the binary. */
#include "app/app.h"

int main(int argc, char **argv)
{
    return app_main(argc, argv);
}
