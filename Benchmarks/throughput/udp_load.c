/* Open-loop UDP load generator for the node-throughput benchmark (Benchmarks/node_throughput.py).
 *
 *   udp_load PORT FILE RATE SECONDS [FIRST [COUNT]]
 *
 * Sends the datagrams of FILE (each preceded by a 2-byte big-endian length) to 127.0.0.1:PORT
 * at RATE per second for SECONDS, in order from datagram FIRST and wrapping after COUNT of them
 * (default: all), receiving answers all along and for 300 ms after the last send. Prints one
 * JSON line: datagrams sent, answers (KRPC responses), errors (KRPC errors), other replies
 * (an echo server's), queries (an echo of ours, or the node's own pings) and the achieved send
 * rate; the first error reply goes to stderr. Loopback only, bounded in time: at most
 * SECONDS + 0.3 s whatever the target does.
 *
 * It works in ticks of at most TICK_US: between them it sleeps, then sends what has come due
 * and reads every answer waiting. A generator that spun, or woke for every datagram and every
 * answer, took most of a core of this 2-core machine, which starved a node whose signature
 * checks run on worker threads, but not the one-thread echo server it is compared with. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <sys/prctl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define TICK_US 200

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* KRPC replies carry `1:y1:r` (response) or `1:y1:e` (error) somewhere in the dictionary. */
static int reply_kind(const unsigned char *bytes, ssize_t length) {
    for (ssize_t i = 0; i + 6 <= length; i++) {
        if (memcmp(bytes + i, "1:y1:", 5) == 0) return bytes[i + 5];
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: udp_load PORT FILE RATE SECONDS [FIRST [COUNT]]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    double rate = atof(argv[3]), seconds = atof(argv[4]);
    long first = argc > 5 ? atol(argv[5]) : 0, limit = argc > 6 ? atol(argv[6]) : -1;
    if (port <= 0 || port > 65535 || rate <= 0 || rate > 2e6 || seconds <= 0 || seconds > 60) {
        fprintf(stderr, "udp_load: need 0 < PORT < 65536, 0 < RATE <= 2,000,000, 0 < SECONDS <= 60\n");
        return 2;
    }

    FILE *file = fopen(argv[2], "rb");
    if (!file) { perror(argv[2]); return 2; }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    unsigned char *data = malloc(size > 0 ? size : 1);
    if (!data || fread(data, 1, size, file) != (size_t)size) { fprintf(stderr, "udp_load: cannot read %s\n", argv[2]); return 2; }
    fclose(file);
    long count = 0;
    for (long at = 0; at + 2 <= size; at += 2 + ((data[at] << 8) | data[at + 1])) count++;
    unsigned char **datagrams = malloc(sizeof(*datagrams) * (count ? count : 1));
    size_t *lengths = malloc(sizeof(*lengths) * (count ? count : 1));
    long index = 0;
    for (long at = 0; at + 2 <= size && index < count; index++) {
        lengths[index] = (data[at] << 8) | data[at + 1];
        datagrams[index] = data + at + 2;
        at += 2 + lengths[index];
    }
    if (first < 0 || first >= count) { fprintf(stderr, "udp_load: FIRST out of range (%ld datagrams)\n", count); return 2; }
    if (limit <= 0 || first + limit > count) limit = count - first;

    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int buffer = 8 << 20;
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    struct sockaddr_in target = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &target.sin_addr);
    if (connect(sock, (struct sockaddr *)&target, sizeof target) != 0) { perror("connect"); return 2; }

    /* Wake-ups on time to the microsecond, not within the default 50 us of slack. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    static unsigned char receive_buffers[BATCH][2048];
    struct mmsghdr messages[BATCH];
    struct iovec vectors[BATCH];
    long sent = 0, answers = 0, errors = 0, other = 0, queries = 0, send_failures = 0;
    double start = now_seconds(), end = start + seconds, drain_end = end + 0.3;
    for (;;) {
        double now = now_seconds();
        if (now >= drain_end) break;
        if (now < end) {
            long due = (long)((now - start) * rate);
            for (int burst = 0; sent < due && burst < BATCH; burst++) {
                long which = first + sent % limit;
                if (send(sock, datagrams[which], lengths[which], 0) < 0) {
                    if (errno == EAGAIN || errno == ENOBUFS) break;
                    send_failures++; /* ECONNREFUSED after the target went away, say */
                }
                sent++;
            }
        }
        for (int i = 0; i < BATCH; i++) {
            vectors[i].iov_base = receive_buffers[i];
            vectors[i].iov_len = sizeof receive_buffers[i];
            memset(&messages[i].msg_hdr, 0, sizeof messages[i].msg_hdr);
            messages[i].msg_hdr.msg_iov = &vectors[i];
            messages[i].msg_hdr.msg_iovlen = 1;
        }
        int received = recvmmsg(sock, messages, BATCH, MSG_DONTWAIT, NULL);
        for (int i = 0; i < received; i++) {
            switch (reply_kind(receive_buffers[i], messages[i].msg_len)) {
            case 'r': answers++; break;
            case 'e':
                if (errors++ == 0) { /* the first error, for the log: its printable bytes */
                    fputs("udp_load: first error reply: ", stderr);
                    for (unsigned j = 0; j < messages[i].msg_len; j++) {
                        unsigned char c = receive_buffers[i][j];
                        fputc(c >= 32 && c < 127 ? c : '.', stderr);
                    }
                    fputc('\n', stderr);
                }
                break;
            case 'q': queries++; break; /* the node's own query (a ping of a new contact), or an echo */
            default: other++;
            }
        }
        int sends_due = now < end && sent < (long)((now_seconds() - start) * rate);
        if (received < BATCH && !sends_due) {
            /* Nothing due and nothing left to read: sleep until the next send is due, but at
             * least one tick, so that answers are read in batches rather than one wake-up each. */
            double wake = now < end ? start + (double)(sent + 1) / rate : drain_end;
            double tick = now_seconds() + TICK_US * 1e-6;
            if (wake < tick) wake = tick;
            if (wake > drain_end) wake = drain_end;
            struct timespec until = {.tv_sec = (time_t)wake, .tv_nsec = (long)((wake - (time_t)wake) * 1e9)};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
        }
    }
    double elapsed = (end < now_seconds() ? end : now_seconds()) - start;
    printf("{\"sent\": %ld, \"answers\": %ld, \"errors\": %ld, \"other\": %ld, \"queries\": %ld, \"send_failures\": %ld, "
           "\"seconds\": %.3f, \"offered_rate\": %.0f, \"sent_rate\": %.0f}\n",
           sent, answers, errors, other, queries, send_failures, seconds, rate, sent / elapsed);
    return 0;
}
