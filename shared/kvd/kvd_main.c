/* kvd_main.c - the kvd command (work in progress). */
#include "iolab/kvd.h"

#include <stdio.h>

int
main(void)
{
    fputs("kvd: not built yet\n", stderr);
    return 1;
}
