# Installs cfutures from BUILD_DIR into WORK/prefix, then builds and runs the consumer project
# three ways: find_package, add_subdirectory, and pkg-config.
file(REMOVE_RECURSE ${WORK})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK}/prefix)
set(gen -DCMAKE_CXX_COMPILER=${CXX})

run(${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/find ${gen} -DCMAKE_PREFIX_PATH=${WORK}/prefix)
run(${CMAKE_COMMAND} --build ${WORK}/find)
run(${WORK}/find/consumer)

run(${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/subdir ${gen} -DCFUTURES_SOURCE_DIR=${SOURCE_DIR})
run(${CMAKE_COMMAND} --build ${WORK}/subdir --target consumer)
run(${WORK}/subdir/consumer)

file(GLOB_RECURSE pc_files ${WORK}/prefix/*/cfutures.pc)
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir ${pc_file} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
execute_process(COMMAND pkg-config --cflags --libs cfutures OUTPUT_VARIABLE flags RESULT_VARIABLE rc
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config cannot find cfutures.pc in ${pc_dir}")
endif()
separate_arguments(flags)
run(${CXX} ${CONSUMER}/main.cpp ${flags} -o ${WORK}/pkgconfig_consumer)
run(${WORK}/pkgconfig_consumer)
