/*
 * server.h - lesson 05: one thread, many clients. A non-blocking server on
 * an epoll event loop.
 *
 * You write server.c. The tests run your serve() in a process of its own
 * and talk to it through many connections at once: they count its threads,
 * its child processes, its descriptors, and its wake-ups and CPU time while
 * it waits, and they play clients that are slow, rude or in a hurry.
 * Compare with lesson 02, where every task had a thread of its own.
 */
#ifndef SERVER_H
#define SERVER_H

/* ANCHOR: protocol */
/*
 * The mirror protocol. A client sends lines of text, each ending in '\n'.
 * For every line the server sends back the same bytes in reverse order,
 * then '\n':
 *
 *     client: "hello world\n"      server: "dlrow olleh\n"
 *     client: "\n"                 server: "\n"
 *
 * Replies go out in the order of the lines. A client may send many lines
 * in one go, or one line in many pieces: the bytes come as a stream, and
 * only '\n' says where a line ends.
 */
#define SERVER_LINE_MAX 1024   /* the longest line, without its '\n' */
/* ANCHOR_END: protocol */

/* ANCHOR: interface */
/*
 * Serve the mirror protocol to every client that connects to listen_fd,
 * all at once, on the calling thread alone, until stop_fd is readable.
 *
 * listen_fd  a listening TCP socket, already non-blocking;
 * stop_fd    a descriptor that becomes readable when it is time to stop.
 * Both belong to the caller: watch them, never close them.
 *
 * The rules of the house:
 *  - one thread, no child processes: an event loop on epoll;
 *  - never wait for one client: every socket is non-blocking, and the only
 *    place the loop waits is epoll_wait(), which sleeps (no busy polling);
 *  - a line may arrive in pieces: keep what came until its '\n' does;
 *  - a reply may not fit in the socket: keep what send() did not take and
 *    send it when the socket is writable again (EPOLLOUT);
 *  - a client that shuts down its sending side (end of file) still gets
 *    the replies it is owed for complete lines; then close it. Bytes after
 *    its last '\n' are dropped;
 *  - a client may vanish at any moment (reset): close it quietly. The
 *    server must never die of SIGPIPE (send with MSG_NOSIGNAL);
 *  - a line longer than SERVER_LINE_MAX: close that client's connection;
 *  - no leaks: every connection closed is a descriptor freed.
 *
 * Returns 0 once stop_fd is readable and every client connection (and the
 * epoll descriptor) is closed; -1 with errno set if the loop cannot be set
 * up at all (EBADF when listen_fd or stop_fd is not an open descriptor),
 * having closed whatever it opened.
 */
int serve(int listen_fd, int stop_fd);
/* ANCHOR_END: interface */

#endif
