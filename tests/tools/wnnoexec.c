/* wnnoexec: run a program on which every execve, or every fork, fails with
 * a given error, as on a machine short of memory (ENOMEM) or of processes
 * (EAGAIN); the tests start wnworker so to see what it does with a command
 * that cannot start for that reason.
 *
 *   wnnoexec exec|fork ENOMEM|EAGAIN PROGRAM [ARGS...]
 *
 * A seccomp filter (inherited by every child) answers the call with the
 * error: exec, every execve; fork, every clone that makes a process with a
 * memory of its own (fork; not a thread, nor a vfork-style start, which
 * share their parent's). PROGRAM itself is started with execveat, which the
 * filter lets through. Exit: 2 usage, 1 the filter or the start failed. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	bool exec = argc >= 4 && strcmp(argv[1], "exec") == 0;
	if (argc < 4 || (!exec && strcmp(argv[1], "fork") != 0) ||
	    (strcmp(argv[2], "ENOMEM") != 0 && strcmp(argv[2], "EAGAIN") != 0)) {
		fprintf(stderr, "usage: wnnoexec exec|fork ENOMEM|EAGAIN PROGRAM [ARGS...]\n");
		return 2;
	}
	unsigned ret = SECCOMP_RET_ERRNO |
	               ((strcmp(argv[2], "ENOMEM") == 0 ? ENOMEM : EAGAIN) & SECCOMP_RET_DATA);
	struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 5),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, exec ? SYS_execve : SYS_clone, 0, 3),
	    /* exec: every one; fork: a clone without CLONE_VM (its low word) */
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
	    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, exec ? 0 : CLONE_VM, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, ret),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
		perror("wnnoexec: seccomp");
		return 1;
	}
	syscall(SYS_execveat, AT_FDCWD, argv[3], argv + 3, environ, 0);
	fprintf(stderr, "wnnoexec: cannot start %s: %s\n", argv[3], strerror(errno));
	return 1;
}
