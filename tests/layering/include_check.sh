#!/bin/sh
# include_check.sh SOURCE_DIR REGEX [ALLOWED...]: fails, printing the offending lines, when a C++
# file of the source tree outside the ALLOWED paths (git pathspecs) has a line matching REGEX (an
# extended regular expression). Include roots cannot fence headers of /usr/include (Boost, LMDB,
# libsodium), so these checks keep them in their modules; docs/architecture.md lists them.
src=$1
regex=$2
shift 2
allowed_paths="$*"
for allowed in "$@"; do
  set -- "$@" ":(exclude)$allowed"
  shift
done
# --untracked: a new file is checked before it is added to git.
git -C "$src" grep --untracked -nE "$regex" -- '*.h' '*.cc' "$@"
case $? in
  0) echo "include_check: the lines above may appear only in: ${allowed_paths:-nowhere}" >&2; exit 1 ;;
  1) exit 0 ;;
  *) echo "include_check: git grep failed in $src" >&2; exit 2 ;;
esac
