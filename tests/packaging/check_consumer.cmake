# Installs cfutures from BUILD_DIR into WORK/prefix, then builds and runs the consumer project
# three ways: find_package, add_subdirectory, and pkg-config.
file(REMOVE_RECURSE ${WORK})
include(${CMAKE_CURRENT_LIST_DIR}/script_helpers.cmake)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK}/prefix)
set(gen -DCMAKE_CXX_COMPILER=${CXX})

run(${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/find ${gen} -DCMAKE_PREFIX_PATH=${WORK}/prefix)
run(${CMAKE_COMMAND} --build ${WORK}/find)
run(${WORK}/find/consumer)

run(${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/subdir ${gen} -DCFUTURES_SOURCE_DIR=${SOURCE_DIR})
run(${CMAKE_COMMAND} --build ${WORK}/subdir --target consumer)
run(${WORK}/subdir/consumer)

build_with_pkg_config(cfutures ${WORK}/prefix ${CONSUMER}/main.cpp ${WORK}/pkgconfig_consumer)
