/* version.h - the release this build is and the git commit it was made from.
 *
 * The version is CMake's project version (the top-level CMakeLists.txt), written
 * into a generated header at configure time; the commit is read at every build
 * (common/version/git_commit.cmake): a short hash, "-dirty" when the tree had changes, or
 * "unknown" outside git. Every executable answers --version with both. */
#ifndef SAGA_VERSION_H
#define SAGA_VERSION_H

#include <stdbool.h>
#include <stdio.h>

/* "1.0.0": a static string. */
const char *saga_version(void);

/* The git commit of the build ("3f2a9c1d0b4e", "3f2a9c1d0b4e-dirty" or "unknown"):
 * a static string. */
const char *saga_version_commit(void);

/* Writes "<name> <version> (commit <commit>)\n" to out. */
void saga_version_print(FILE *out, const char *name);

/* True when the command line asks for the version (its only argument is --version
 * or -V); then the version is printed on stdout and the caller exits 0. */
bool saga_version_requested(int argc, char **argv, const char *name);

#endif
