// posix_spawn file actions that glibc declares only under _GNU_SOURCE, which Swift's Glibc module
// is not built with. Each is wrapped here, once, with the `cspawn_` prefix.
#ifndef CSPAWN_H
#define CSPAWN_H

#include <spawn.h>

/// Closes every descriptor from `lowest` up in the child. Wraps `posix_spawn_file_actions_addclosefrom_np`.
int cspawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest);

/// Makes `path` the child's working directory. Wraps `posix_spawn_file_actions_addchdir_np`.
int cspawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

#endif
