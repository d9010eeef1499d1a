/* The machine's request-rate ceiling for the node-throughput benchmark: a plain single-threaded
 * UDP echo server on 127.0.0.1:PORT, one recvfrom and one sendto per datagram (as a DHT node
 * does one read and one write per query), running until killed or for SECONDS at most.
 *
 *   udp_echo PORT SECONDS [REPLY_BYTES]
 *
 * With REPLY_BYTES, each reply is the datagram received followed by zeros up to that size: the
 * limit for answers as large as a node's (a get_records page is about 1,300 bytes against a
 * ~330-byte query), since the kernel's cost of a datagram grows with its size. */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: udp_echo PORT SECONDS [REPLY_BYTES]\n"); return 2; }
    int port = atoi(argv[1]);
    double seconds = atof(argv[2]);
    long reply_bytes = argc > 3 ? atol(argv[3]) : 0;
    if (reply_bytes < 0 || reply_bytes > 2048) { fprintf(stderr, "udp_echo: REPLY_BYTES at most 2048\n"); return 2; }
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    int buffer = 8 << 20;
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    struct timeval timeout = {.tv_sec = 0, .tv_usec = 200000};
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
    if (bind(sock, (struct sockaddr *)&local, sizeof local) != 0) { perror("bind"); return 2; }
    printf("ready\n");
    fflush(stdout);
    time_t stop = time(NULL) + (time_t)seconds + 1;
    unsigned char datagram[2048];
    memset(datagram, 0, sizeof datagram);
    while (time(NULL) < stop) {
        struct sockaddr_in source;
        socklen_t length = sizeof source;
        ssize_t received = recvfrom(sock, datagram, sizeof datagram, 0, (struct sockaddr *)&source, &length);
        if (received <= 0) continue;
        size_t reply = received < reply_bytes ? (size_t)reply_bytes : (size_t)received;
        /* Zeros after the datagram, not the last reply's bytes. */
        if (reply > (size_t)received) memset(datagram + received, 0, reply - received);
        sendto(sock, datagram, reply, 0, (struct sockaddr *)&source, length);
    }
    return 0;
}
