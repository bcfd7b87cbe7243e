#define _GNU_SOURCE
#include "CSpawn.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>

int cspawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest) {
#if __GLIBC_PREREQ(2, 34)
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
#else
    // glibc before 2.34 (Ubuntu 20.04) has no closefrom action: close what is open now, one by one.
    DIR *open_fds = opendir("/proc/self/fd");
    if (!open_fds) return errno;
    int status = 0;
    for (struct dirent *entry; status == 0 && (entry = readdir(open_fds));) {
        int fd = atoi(entry->d_name);
        if (entry->d_name[0] != '.' && fd >= lowest && fd != dirfd(open_fds)) status = posix_spawn_file_actions_addclose(actions, fd);
    }
    closedir(open_fds);
    return status;
#endif
}

int cspawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}
