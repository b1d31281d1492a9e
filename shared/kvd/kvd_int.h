/* kvd_int.h - kvd's internal interfaces (work in progress). */
#ifndef KVD_INT_H
#define KVD_INT_H
#include "iolab/kvd.h"
#endif
