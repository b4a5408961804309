# run(<command> [args...]): runs a command from a CMake script (cmake -P); if it fails, the script
# fails with the command and its output. Sets `out` (its output) in the caller. (The packaging
# checks, and tests/mpi/mpich.)
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

# build_with_pkg_config(<package> <prefix> <source> <program>): compiles and links <source> into
# <program> with the flags `pkg-config --cflags --libs <package>` gives for the <package>.pc
# installed under <prefix>, then runs it.
function(build_with_pkg_config package prefix source program)
  file(GLOB_RECURSE pc_files ${prefix}/*/${package}.pc)
  if(NOT pc_files)
    message(FATAL_ERROR "no ${package}.pc under ${prefix}")
  endif()
  list(GET pc_files 0 pc_file)
  get_filename_component(pc_dir ${pc_file} DIRECTORY)
  set(ENV{PKG_CONFIG_PATH} ${pc_dir})
  execute_process(COMMAND pkg-config --cflags --libs ${package} OUTPUT_VARIABLE flags RESULT_VARIABLE rc
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config cannot use ${package}.pc in ${pc_dir}")
  endif()
  separate_arguments(flags)
  run(${CXX} ${source} ${flags} -o ${program})
  run(${program})
endfunction()
