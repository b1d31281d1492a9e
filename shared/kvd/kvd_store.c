/* kvd_store.c - kvd's hash table (work in progress). */
#include "kvd_int.h"
