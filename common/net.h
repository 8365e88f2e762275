/* Socket helpers used by every I/O edge: address parsing/formatting, non-blocking binds with SO_REUSEPORT,
 * buffer sizes, loopback checks. Errors are errno values. */
#ifndef GB_COMMON_NET_H
#define GB_COMMON_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* "ip:port" or "ip" (port from default_port) -> sockaddr (IPv4 or IPv6 in brackets). */
int net_parse_addr(const char *text, int default_port, struct sockaddr_storage *out, socklen_t *len);
/* sockaddr -> "ip:port". */
char *net_format_addr(const struct sockaddr *sa, char *buf, size_t size);
bool net_is_loopback(const struct sockaddr *sa);
/* Non-blocking, close-on-exec socket bound to ip:port. type SOCK_DGRAM or SOCK_STREAM (then listening).
 * reuseport: SO_REUSEPORT (load spreading); always SO_REUSEADDR for TCP. Returns fd or -errno. */
int net_bind(const char *ip, int port, int type, bool reuseport, int backlog);
/* Sets SO_RCVBUF (tries SO_RCVBUFFORCE first when privileged). Returns the size obtained. */
int net_set_rcvbuf(int fd, int bytes);
/* Asks for UDP_GRO (Linux 5.0+): the kernel may then hand the socket a run of same-size datagrams of one
 * flow as one read, with a UDP_GRO control message giving the datagram size. Returns 0 or an errno. */
int net_set_udp_gro(int fd);
int net_set_nonblock(int fd);
/* Local port of a bound socket, or -1. */
int net_local_port(int fd);

#endif
