/* A guest-side peer for the Linux-guest tests (test_vmm_linux_guest.py),
 * built static on the host and put on the guest's root disk: busybox has
 * no vsock client, and its nc's end-of-stream handling differs between
 * builds.  Each mode sends MSG, half-closes, prints what it got until EOF.
 *   guest-peer vsock PORT MSG      connect to the host (CID 2) on PORT
 *   guest-peer tcp IP PORT MSG     connect to IP:PORT
 *   guest-peer listen PORT MSG     accept one TCP connection on PORT */
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int talk(int s, const char *msg)
{
  char buf[4096];
  ssize_t n;
  if (write(s, msg, strlen(msg)) != (ssize_t)strlen(msg) || shutdown(s, SHUT_WR) < 0) {
    perror("guest-peer: send");
    return 1;
  }
  while ((n = read(s, buf, sizeof buf)) > 0)
    fwrite(buf, 1, (size_t)n, stdout);
  return n < 0;
}

int main(int argc, char **argv)
{
  int s = -1;
  if (argc == 4 && strcmp(argv[1], "vsock") == 0) {
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
                            .svm_port = (unsigned)atoi(argv[2])};
    s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
      perror("guest-peer: vsock connect");
      return 1;
    }
    return talk(s, argv[3]);
  }
  if (argc == 5 && strcmp(argv[1], "tcp") == 0) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[3]))};
    inet_pton(AF_INET, argv[2], &a.sin_addr);
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
      perror("guest-peer: tcp connect");
      return 1;
    }
    return talk(s, argv[4]);
  }
  if (argc == 4 && strcmp(argv[1], "listen") == 0) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0) {
      perror("guest-peer: listen");
      return 1;
    }
    printf("listening\n");
    fflush(stdout);
    if ((s = accept(l, NULL, NULL)) < 0) {
      perror("guest-peer: accept");
      return 1;
    }
    return talk(s, argv[3]);
  }
  fprintf(stderr, "usage: guest-peer vsock PORT MSG | tcp IP PORT MSG | listen PORT MSG\n");
  return 2;
}
