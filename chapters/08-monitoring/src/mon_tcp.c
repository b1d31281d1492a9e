/*
 * mon_tcp.c - exercise 4 of chapter 08, the network half: a TCP
 * connection's health from the kernel's own accounting, TCP_INFO.
 *
 * The contract is in include/mon.h.
 */
#include "mon.h"

#include <errno.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* the full struct tcp_info; glibc's stops short */
#include <string.h>
#include <sys/socket.h>

/*
 * TODO(why.7): getsockopt(IPPROTO_TCP, TCP_INFO) into a struct tcp_info,
 * then the fields the contract names [MON-32]; errors as -errno
 * [MON-33].
 */
int
mon_tcp_info(int fd, struct mon_tcp *out)
{
    (void)fd;
    (void)out;
    return -ENOSYS;
}
