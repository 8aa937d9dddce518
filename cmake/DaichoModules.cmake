# Layering enforced by the build (docs/architecture.md, "Layering").
#
# Each module target has its own include root in the build tree: a directory of symbolic links to
# the module's folder, so that an include such as "sync/x.h" resolves only for a target that links
# daicho_sync, directly or through a module above it. No header moves and no include line changes.
# A quoted include also searches the includer's own directory first, but "sync/x.h" from sync/
# looks for sync/sync/x.h, so no module leaks through its own folder; `#include "../` is refused by
# the layering.no_parent_includes test instead.
set(DAICHO_INCLUDE_ROOTS ${PROJECT_BINARY_DIR}/include_roots)

# daicho_module_root(TARGET DIR [EXCLUDE entry...]): "DIR/x.h" resolves for TARGET and whatever links
# it. DIR is relative to the source root and is a folder (sync, storage/lmdb) or one header
# (storage/binary.h). EXCLUDE names entries of DIR left out, such as a sub-folder that is another
# target (relay/lmdb), so that linking the outer module does not expose it.
function(daicho_module_root target dir)
  cmake_parse_arguments(ARG "" "" "EXCLUDE" ${ARGN})
  if(NOT TARGET ${target})
    message(FATAL_ERROR "daicho_module_root: no target ${target}")
  endif()
  set(src ${PROJECT_SOURCE_DIR}/${dir})
  if(NOT EXISTS ${src})
    message(FATAL_ERROR "daicho_module_root(${target}): ${dir} does not exist")
  endif()
  set(root ${DAICHO_INCLUDE_ROOTS}/${target})
  # Made afresh on every configure: a folder that gains or loses an EXCLUDE, or a header that is
  # deleted, leaves no stale link behind. REMOVE_RECURSE deletes a link, never what it points to.
  file(REMOVE_RECURSE ${root}/${dir})
  get_filename_component(parent ${root}/${dir} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  if(ARG_EXCLUDE)
    foreach(entry IN LISTS ARG_EXCLUDE)
      if(NOT EXISTS ${src}/${entry})  # a renamed sub-folder would otherwise be exposed silently
        message(FATAL_ERROR "daicho_module_root(${target}): ${dir}/${entry} does not exist")
      endif()
    endforeach()
    file(MAKE_DIRECTORY ${root}/${dir})
    # Links, not a source list: CONFIGURE_DEPENDS re-runs the configure when DIR gains an entry.
    file(GLOB entries CONFIGURE_DEPENDS RELATIVE ${src} ${src}/*)
    foreach(entry IN LISTS entries)
      if(NOT entry IN_LIST ARG_EXCLUDE)
        file(CREATE_LINK ${src}/${entry} ${root}/${dir}/${entry} SYMBOLIC)
      endif()
    endforeach()
  else()
    file(CREATE_LINK ${src} ${root}/${dir} SYMBOLIC)
  endif()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${target} INTERFACE $<BUILD_INTERFACE:${root}>)
  else()
    target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${root}>)
  endif()
endfunction()
