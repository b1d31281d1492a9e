/* kvd_cmd.c - kvd's commands (work in progress). */
#include "kvd_int.h"
