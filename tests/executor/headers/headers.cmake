# Compiles SOURCE (-fsyntax-only), which must succeed, and preprocesses it: the text must not
# mention cereal (the thread pool's headers stay free of the serialization library).
execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -I${INCLUDE} ${SOURCE}
                RESULT_VARIABLE status ERROR_VARIABLE errors)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${SOURCE} does not compile:\n${errors}")
endif()
execute_process(COMMAND ${CXX} -std=c++20 -E -P -I${INCLUDE} ${SOURCE}
                RESULT_VARIABLE status OUTPUT_VARIABLE text ERROR_VARIABLE errors)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "preprocessing ${SOURCE} failed:\n${errors}")
endif()
string(FIND "${text}" "cereal" at)
if(NOT at EQUAL -1)
  string(SUBSTRING "${text}" ${at} 200 context)
  message(FATAL_ERROR "${SOURCE}: the preprocessed thread-pool program mentions cereal: ...${context}...")
endif()
