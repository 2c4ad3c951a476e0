# SPDX-License-Identifier: MIT
#[=======================================================================[.rst:
HFModels
--------

Hugging Face models as pinned, verified, cached build dependencies.

``models.yaml`` declares the models, ``hfmodels lock`` pins them in ``models.lock``, and the
functions below turn every locked model into a target, ``HFModels::<name>``, whose files are in
the shared Hugging Face cache (``HF_HUB_CACHE``), the same bytes Python and JavaScript tools use.

.. code-block:: cmake

  find_package(HFModels 0.2 REQUIRED)
  hfmodels_add_models()
  target_link_libraries(app PRIVATE HFModels::tinyllama)

This module is loaded by ``find_package(HFModels)``, or by ``add_subdirectory()`` /
``FetchContent`` of the hfmodels source tree.

Where the tool comes from
^^^^^^^^^^^^^^^^^^^^^^^^^

The functions run the ``hfmodels`` tool during the configure, so it must exist before the
consumer's build does.

* Installed (``cmake --install``): ``find_package(HFModels)`` with ``CMAKE_PREFIX_PATH`` or
  ``HFModels_DIR`` naming the prefix. The package is relocatable: every path in it is relative
  to ``<prefix>/lib/cmake/HFModels``, so a moved or unpacked prefix keeps working.
  ``HFModels::hfmodels`` is an imported executable.
* From an hfmodels build tree: ``-DHFModels_DIR=<hfmodels build dir>``.
* As a subproject (``add_subdirectory()`` or ``FetchContent_MakeAvailable()`` of this source
  tree): the tool is a target of the consumer's own build, which does not exist yet when the
  consumer configures. The first configure therefore builds it in a nested build, under
  ``<consumer build dir>/_hfmodels_tool`` (Release, the consumer's generator and compiler; a
  minute or two, once). Later configures reuse it; an up-to-date check costs a fraction of a
  second and rebuilds it only when the hfmodels sources changed. The build-time and
  install-time steps (``FETCH BUILD``, ``FETCH INSTALL``, :command:`hfmodels_install`) run that
  same binary, so the consumer's ``all`` does not build the tool a second time: as a
  subproject, hfmodels's own targets are excluded from ``all`` and it installs nothing of its
  own (``-DHFMODELS_INSTALL=ON`` to install the tool and the package with the consumer).
  The tool's dependencies (libcurl, OpenSSL, yaml-cpp, xxHash, nlohmann_json, CLI11) must be findable,
  as for any build of hfmodels.

Commands
^^^^^^^^

.. command:: hfmodels_add_models

  .. code-block:: cmake

    hfmodels_add_models(
      [LOCKFILE <path>]
      [MODELS <name>...]
      [FETCH CONFIGURE | BUILD | INSTALL]
      [OFFLINE])

  Creates the target ``HFModels::<name>`` for each model of the lockfile.

  ``LOCKFILE <path>``
    The lockfile; default ``${CMAKE_CURRENT_SOURCE_DIR}/models.lock``. A relative path is taken
    from ``CMAKE_CURRENT_SOURCE_DIR``. The ``models.yaml`` beside it, if any, is checked against
    it: a lockfile that is stale (the manifest was edited and not re-locked) fails the
    configure, naming the command to run. Both files are configure dependencies: editing them
    re-runs the configure.

  ``MODELS <name>...``
    The models to add; default every locked model. An unknown name fails the configure.

  ``FETCH CONFIGURE | BUILD | INSTALL``
    When the bytes move. ``CONFIGURE`` (the default) downloads during the configure.
    ``BUILD`` downloads during the build, before anything that links the model compiles (the
    target ``hfmodels_fetch_<name>`` does it, once per build however many targets link the
    model, with Ninja and Makefiles alike; with everything cached it costs milliseconds).
    ``INSTALL`` downloads only at ``cmake --install``, so the configure and the build need no
    network. A configure with everything cached costs milliseconds per model: it checks
    presence and size, it does not re-hash. The bytes always go to the cache the configure
    saw, the one ``HFMODELS_<NAME>_DIR`` points into, whatever the build's environment says.

  ``OFFLINE``
    Never touch the network; also set by ``-DHFMODELS_OFFLINE=ON`` or the environment variable
    ``HF_HUB_OFFLINE=1``. With every file cached the configure and build succeed; with a file
    missing the configure fails, naming the model, the file and the fetch command.

  Linking ``HFModels::<name>`` gives the consumer the compile definition
  ``HFMODELS_<NAME>_DIR="<snapshot folder>"`` (``<NAME>`` upper-cased). The target has the
  properties ``HFMODELS_DIR``, ``HFMODELS_COMMIT`` and ``HFMODELS_FILES`` (the locked paths,
  relative to the folder), and the variable ``HFModels_<name>_DIR`` holds the folder.

  A model may not be named ``hfmodels``, ``runtime``, ``runtime_shared`` or
  ``runtime_static``: those are the package's own targets. ``HFModels::<name>`` exists only in
  the build that added it; a library installed with ``install(EXPORT)`` links it as
  ``$<BUILD_INTERFACE:HFModels::<name>>``, and finds its model at run time another way (see
  :command:`hfmodels_install`).

.. command:: hfmodels_install

  .. code-block:: cmake

    hfmodels_install(MODELS <name>... DESTINATION <dir> [COMPONENT <component>])

  Installs the real files of the models (symlinks dereferenced) into ``<dir>/<name>/``,
  fetching them first if needed (this is ``hfmodels export``). ``<dir>`` is relative to the
  install prefix unless absolute; ``DESTDIR`` and CPack's staging are honoured, so a CPack
  archive holds regular files. The installed files are listed in ``install_manifest.txt``.
  The models must have been added with :command:`hfmodels_add_models` first. A program finds
  them at run time relative to its own executable (``<exe dir>/../<dir>/<name>`` for a program
  installed in ``bin``); ``examples/packaging`` shows it.

.. command:: hfmodels_embed_lockfile

  .. code-block:: cmake

    hfmodels_embed_lockfile(<target> [LOCKFILE <path>])

  Compiles the lockfile into ``<target>``, a program or library linking ``HFModels::runtime``,
  so that ``hfmodels::Project::embedded()`` reads it at run time with no file beside the
  program. ``LOCKFILE`` defaults to ``${CMAKE_CURRENT_SOURCE_DIR}/models.lock``; a relative path
  is taken from ``CMAKE_CURRENT_SOURCE_DIR``. The lockfile is read at build time, so editing it
  rebuilds the target; it is checked when the program opens it (``Project::embedded()`` throws
  ``hfmodels::Error`` for a bad one, as ``hfmodels fetch`` would).

Variables
^^^^^^^^^

.. variable:: HFMODELS_OFFLINE

  Cache variable; when ``ON``, every ``hfmodels_add_models`` call behaves as if ``OFFLINE``
  were given. Defaults to the environment variable of the same name.

.. variable:: HFMODELS_CACHE_DIR

  Cache variable; the Hugging Face hub cache to use instead of the one the environment names
  (``HF_HUB_CACHE``, ``HF_HOME``, ...). Defaults to the environment variable of the same name.

.. variable:: HFMODELS_MIRRORS

  Cache variable; a list of mirrors (``http(s)://...``, ``s3://bucket/prefix``,
  ``file:///path``) tried in order before the Hub for every file, at configure, build and
  install time alike. Empty (the default): the environment variable of the same name at each
  step, a space-separated list. See "Teams and CI fleets" in the README.

.. variable:: HFMODELS_NO_ORIGIN

  Cache variable; when ``ON``, files come from the mirrors only and the Hub is never contacted.
  Defaults to the environment variable of the same name.

.. variable:: HFModels_USE_STATIC_LIBS

  Set before ``find_package(HFModels)``: ``HFModels::runtime`` is then the static library
  (``libhfmodels.a``, with its dependencies libcurl, OpenSSL, yaml-cpp and xxHash) instead of
  the shared one (``libhfmodels.so.0.2``). Both are always installed, as
  ``HFModels::runtime_shared`` and ``HFModels::runtime_static``; the static one's dependencies
  are looked for only when this variable is set, so ``HFModels::runtime_static`` needs it too.

.. variable:: HFMODELS_INSTALL

  Option of the hfmodels project itself: install the tool and this package. ``ON`` when
  hfmodels is the top-level project, ``OFF`` as a subproject.

The token comes from the environment (``HF_TOKEN``) or the token file, as for the command line
tool; it is never stored in the CMake cache.
#]=======================================================================]

include_guard(GLOBAL)

if(NOT DEFINED HFMODELS_OFFLINE)
  set(_hfmodels_offline_default OFF)
  if("$ENV{HFMODELS_OFFLINE}" MATCHES "^(1|[Oo][Nn]|[Yy][Ee][Ss]|[Tt][Rr][Uu][Ee])$")
    set(_hfmodels_offline_default ON)
  endif()
  option(HFMODELS_OFFLINE "Never let hfmodels touch the network" ${_hfmodels_offline_default})
endif()
set(HFMODELS_CACHE_DIR "$ENV{HFMODELS_CACHE_DIR}" CACHE PATH
    "Hugging Face hub cache for hfmodels (empty: from the environment)")
set(HFMODELS_MIRRORS "" CACHE STRING
    "Mirrors to try before the Hub, a list (empty: HFMODELS_MIRRORS of the environment)")
if(NOT DEFINED HFMODELS_NO_ORIGIN)
  set(_hfmodels_no_origin_default OFF)
  if("$ENV{HFMODELS_NO_ORIGIN}" MATCHES "^(1|[Oo][Nn]|[Yy][Ee][Ss]|[Tt][Rr][Uu][Ee])$")
    set(_hfmodels_no_origin_default ON)
  endif()
  option(HFMODELS_NO_ORIGIN "Take model files from the mirrors only, never from the Hub"
         ${_hfmodels_no_origin_default})
endif()

# The hfmodels executable to run at configure, build and install time. An installed or
# build-tree package provides it as the imported HFModels::hfmodels. As a subproject the tool is
# a target of this very build and does not exist yet, so it is built once, in a nested build
# under the binary dir, and that binary serves every later step as well.
function(_hfmodels_configure_tool out_var)
  get_property(tool GLOBAL PROPERTY _HFMODELS_CONFIGURE_TOOL)
  if(tool)
    set(${out_var} "${tool}" PARENT_SCOPE)
    return()
  endif()
  if(NOT TARGET HFModels::hfmodels)
    message(FATAL_ERROR "hfmodels: the HFModels::hfmodels target is missing; load this module "
                        "with find_package(HFModels) or add_subdirectory() of hfmodels")
  endif()
  get_target_property(imported HFModels::hfmodels IMPORTED)
  if(imported)
    get_target_property(tool HFModels::hfmodels LOCATION)
  else()
    # This file is <hfmodels source>/cmake/HFModels.cmake.
    get_filename_component(source_dir "${CMAKE_CURRENT_FUNCTION_LIST_DIR}" DIRECTORY)
    set(tool_build "${CMAKE_BINARY_DIR}/_hfmodels_tool")
    if(NOT EXISTS "${tool_build}/CMakeCache.txt")
      message(STATUS "hfmodels: building the hfmodels tool for configure-time use, once, "
                     "in ${tool_build}")
      set(args -G "${CMAKE_GENERATOR}" -DCMAKE_BUILD_TYPE=Release -DHFMODELS_BUILD_TESTS=OFF
               -DHFMODELS_INSTALL=OFF "-DCMAKE_RUNTIME_OUTPUT_DIRECTORY_RELEASE=${tool_build}/bin")
      if(CMAKE_GENERATOR_PLATFORM)
        list(APPEND args -A "${CMAKE_GENERATOR_PLATFORM}")
      endif()
      if(CMAKE_GENERATOR_TOOLSET)
        list(APPEND args -T "${CMAKE_GENERATOR_TOOLSET}")
      endif()
      if(CMAKE_MAKE_PROGRAM)
        list(APPEND args "-DCMAKE_MAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}")
      endif()
      # The tool runs on this machine: when cross-compiling, the host's default compiler builds
      # it, not the target's. Otherwise the same compiler, and the same toolchain file (a
      # package manager's, such as vcpkg's, finds the tool's dependencies).
      if(NOT CMAKE_CROSSCOMPILING)
        list(APPEND args "-DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}")
        if(CMAKE_TOOLCHAIN_FILE)
          list(APPEND args "-DCMAKE_TOOLCHAIN_FILE=${CMAKE_TOOLCHAIN_FILE}")
        endif()
      endif()
      if(CMAKE_PREFIX_PATH)
        string(REPLACE ";" "\\;" prefix_path "${CMAKE_PREFIX_PATH}")
        list(APPEND args "-DCMAKE_PREFIX_PATH=${prefix_path}")
      endif()
      execute_process(
        COMMAND "${CMAKE_COMMAND}" -S "${source_dir}" -B "${tool_build}" ${args}
        RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
      if(NOT result EQUAL 0)
        file(REMOVE "${tool_build}/CMakeCache.txt")
        message(FATAL_ERROR "hfmodels: configuring the nested build of the tool in "
                            "${tool_build} failed:\n${output}")
      endif()
    endif()
    set(build_args --build "${tool_build}" --target hfmodels --config Release)
    if(CMAKE_GENERATOR MATCHES "Makefiles")
      cmake_host_system_information(RESULT jobs QUERY NUMBER_OF_LOGICAL_CORES)
      list(APPEND build_args --parallel ${jobs})
    endif()
    execute_process(COMMAND "${CMAKE_COMMAND}" ${build_args}
                    RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
    if(NOT result EQUAL 0)
      message(FATAL_ERROR "hfmodels: building the tool in ${tool_build} failed:\n${output}")
    endif()
    set(tool "${tool_build}/bin/hfmodels${CMAKE_EXECUTABLE_SUFFIX}")
    if(NOT EXISTS "${tool}")
      message(FATAL_ERROR "hfmodels: the nested build in ${tool_build} did not produce ${tool}")
    endif()
  endif()
  set_property(GLOBAL PROPERTY _HFMODELS_CONFIGURE_TOOL "${tool}")
  set(${out_var} "${tool}" PARENT_SCOPE)
endfunction()

# How to name `tool` in a command for people to run: `hfmodels` if that is what PATH finds.
function(_hfmodels_command_name out_var tool)
  find_program(on_path NAMES hfmodels NO_CACHE NO_PACKAGE_ROOT_PATH NO_CMAKE_PATH
               NO_CMAKE_ENVIRONMENT_PATH NO_CMAKE_SYSTEM_PATH NO_CMAKE_INSTALL_PREFIX)
  if(on_path)
    file(REAL_PATH "${on_path}" on_path)
    file(REAL_PATH "${tool}" real_tool)
  endif()
  if(on_path AND on_path STREQUAL real_tool)
    set(${out_var} hfmodels PARENT_SCOPE)
  else()
    set(${out_var} "${tool}" PARENT_SCOPE)
  endif()
endfunction()

# The tool's global options for a lockfile: files, cache, offline.
function(_hfmodels_common_args out_var lockfile cache_dir offline)
  get_filename_component(dir "${lockfile}" DIRECTORY)
  set(args --lockfile "${lockfile}" --manifest "${dir}/models.yaml")
  if(cache_dir)
    list(APPEND args --cache-dir "${cache_dir}")
  endif()
  if(offline)
    list(APPEND args --offline)
  endif()
  foreach(mirror IN LISTS HFMODELS_MIRRORS)
    list(APPEND args --mirror "${mirror}")
  endforeach()
  if(HFMODELS_NO_ORIGIN)
    list(APPEND args --no-origin)
  endif()
  set(${out_var} "${args}" PARENT_SCOPE)
endfunction()

# `args` as one string of quoted CMake arguments, for install(CODE) scripts.
function(_hfmodels_quote out_var)
  set(quoted "")
  foreach(arg IN LISTS ARGN)
    string(APPEND quoted " [==[${arg}]==]")
  endforeach()
  set(${out_var} "${quoted}" PARENT_SCOPE)
endfunction()

# `arg` as a POSIX shell word, for commands printed for people to copy.
function(_hfmodels_shell_word out_var arg)
  if(arg MATCHES "^[A-Za-z0-9_./:=@%+,-]+$")
    set(${out_var} "${arg}" PARENT_SCOPE)
  else()
    string(REPLACE "'" "'\\''" escaped "${arg}")
    set(${out_var} "'${escaped}'" PARENT_SCOPE)
  endif()
endfunction()

# The names of the package's own targets, which a model's HFModels::<name> would clash with.
set(_HFMODELS_RESERVED_NAMES hfmodels runtime runtime_shared runtime_static)

function(hfmodels_add_models)
  cmake_parse_arguments(PARSE_ARGV 0 arg "OFFLINE" "LOCKFILE;FETCH" "MODELS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "hfmodels_add_models: unknown argument(s) ${arg_UNPARSED_ARGUMENTS}. "
                        "Valid: LOCKFILE <path>, MODELS <name>..., FETCH CONFIGURE|BUILD|INSTALL, "
                        "OFFLINE")
  endif()
  foreach(keyword IN ITEMS LOCKFILE FETCH MODELS)
    if(keyword IN_LIST arg_KEYWORDS_MISSING_VALUES)
      message(FATAL_ERROR "hfmodels_add_models: ${keyword} needs a value")
    endif()
  endforeach()
  if(NOT DEFINED arg_FETCH)
    set(arg_FETCH CONFIGURE)
  elseif(NOT arg_FETCH MATCHES "^(CONFIGURE|BUILD|INSTALL)$")
    message(FATAL_ERROR "hfmodels_add_models: FETCH must be CONFIGURE, BUILD or INSTALL, "
                        "not '${arg_FETCH}'")
  endif()
  if(NOT DEFINED arg_LOCKFILE)
    set(arg_LOCKFILE models.lock)
  endif()
  get_filename_component(lockfile "${arg_LOCKFILE}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  get_filename_component(lock_dir "${lockfile}" DIRECTORY)
  if(NOT EXISTS "${lockfile}")
    set(write "Write ${lock_dir}/models.yaml and run")
    if(EXISTS "${lock_dir}/models.yaml")
      set(write "Run")
    endif()
    message(FATAL_ERROR "hfmodels_add_models: the lockfile ${lockfile} does not exist. "
                        "${write} `hfmodels lock` in ${lock_dir}, or pass LOCKFILE <path>.")
  endif()
  # Editing either file re-runs the configure.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${lockfile}")
  if(EXISTS "${lock_dir}/models.yaml")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${lock_dir}/models.yaml")
  endif()

  set(offline OFF)
  if(arg_OFFLINE OR HFMODELS_OFFLINE
     OR "$ENV{HF_HUB_OFFLINE}" MATCHES "^(1|[Oo][Nn]|[Yy][Ee][Ss]|[Tt][Rr][Uu][Ee])$")
    set(offline ON)
  endif()

  foreach(mirror IN LISTS HFMODELS_MIRRORS)
    if(mirror MATCHES "[ \t]")
      message(FATAL_ERROR "hfmodels_add_models: HFMODELS_MIRRORS is a CMake list: separate the "
                          "mirrors with ';', not spaces ('${HFMODELS_MIRRORS}')")
    endif()
  endforeach()

  _hfmodels_configure_tool(tool)
  _hfmodels_common_args(common "${lockfile}" "${HFMODELS_CACHE_DIR}" ${offline})
  string(SHA1 key "${lockfile};${arg_MODELS}")
  set(script "${CMAKE_BINARY_DIR}/hfmodels/${key}.cmake")
  # Offline, the configure always checks that every file is there: a missing file must fail now,
  # not at some later build or install step.
  set(fetch_now "")
  if(arg_FETCH STREQUAL "CONFIGURE" OR offline)
    set(fetch_now --fetch)
  endif()
  execute_process(
    COMMAND "${tool}" ${common} --no-progress cmake-info ${arg_MODELS} --output "${script}"
            ${fetch_now}
    RESULT_VARIABLE result)
  # The tool's own lines (progress of a configure-time download, its error naming the model and
  # the file) are echoed as they come; the message below adds the lockfile and the fix, the
  # command on a line of its own (indented, so CMake does not wrap it).
  if(NOT result EQUAL 0)
    _hfmodels_command_name(command "${tool}")
    # The command as the configure ran it: the same cache and mirrors (never --offline).
    if(HFMODELS_CACHE_DIR)
      _hfmodels_shell_word(word "${HFMODELS_CACHE_DIR}")
      string(APPEND command " --cache-dir ${word}")
    endif()
    foreach(mirror IN LISTS HFMODELS_MIRRORS)
      _hfmodels_shell_word(word "${mirror}")
      string(APPEND command " --mirror ${word}")
    endforeach()
    if(HFMODELS_NO_ORIGIN)
      string(APPEND command " --no-origin")
    endif()
    _hfmodels_shell_word(lock_dir_word "${lock_dir}")
    set(in_dir "cd ${lock_dir_word} && ${command}")
    get_filename_component(lock_name "${lockfile}" NAME)
    set(lock_arg "")
    if(NOT lock_name STREQUAL "models.lock")
      set(lock_arg " --lockfile ${lock_name}")
    endif()
    if(result EQUAL 6)
      set(why "the lockfile is stale: ${lock_dir}/models.yaml changed since it was locked. "
              "Re-lock it and commit ${lock_name}:\n    ${in_dir} lock${lock_arg}\n")
    elseif(result EQUAL 5 AND NOT offline AND HFMODELS_NO_ORIGIN)
      set(why "files are not in any mirror (listed above), and the Hub is not to be asked "
              "(HFMODELS_NO_ORIGIN). Put them in a mirror with `hfmodels push --to URL` where "
              "they are cached, then configure again; or fetch them from the Hub:\n"
              "    ${in_dir} fetch${lock_arg}\n")
    elseif(result EQUAL 5)
      set(why "offline, and files are missing from the cache (listed above). Fetch them with "
              "network access:\n    ${in_dir} fetch${lock_arg}\n")
    elseif(result EQUAL 2)
      set(why "bad arguments, manifest or lockfile (see the error above)")
    else()
      set(why "hfmodels failed with exit code ${result} (see the error above)")
    endif()
    string(CONCAT why ${why})
    message(FATAL_ERROR "hfmodels_add_models(${lockfile}): ${why}")
  endif()
  include("${script}")

  foreach(name IN LISTS _HFMODELS_MODELS)
    if(name IN_LIST _HFMODELS_RESERVED_NAMES)
      message(FATAL_ERROR "hfmodels_add_models: model '${name}' of ${lockfile} would be "
                          "HFModels::${name}, a target of the HFModels package itself; rename "
                          "the model in ${lock_dir}/models.yaml and run `hfmodels lock`")
    endif()
    if(TARGET HFModels::${name})
      get_target_property(previous HFModels::${name} HFMODELS_LOCKFILE)
      if(NOT previous)
        message(FATAL_ERROR "hfmodels_add_models: model '${name}' of ${lockfile} would be "
                            "HFModels::${name}, a target defined elsewhere; rename the model in "
                            "${lock_dir}/models.yaml and run `hfmodels lock`")
      elseif(NOT previous STREQUAL lockfile)
        message(FATAL_ERROR "hfmodels_add_models: model '${name}' of ${lockfile} is already "
                            "defined by ${previous}")
      endif()
      set(HFModels_${name}_DIR "${_HFMODELS_${name}_DIR}" PARENT_SCOPE)
      continue()
    endif()
    set(dir "${_HFMODELS_${name}_DIR}")
    # <cache>/models--org--name/snapshots/<commit>: the build and install steps use this very
    # cache, whatever their environment says, so the bytes land where the definition points.
    get_filename_component(cache_dir "${dir}" DIRECTORY)
    get_filename_component(cache_dir "${cache_dir}" DIRECTORY)
    get_filename_component(cache_dir "${cache_dir}" DIRECTORY)
    _hfmodels_common_args(pinned "${lockfile}" "${cache_dir}" ${offline})
    string(TOUPPER "${name}" upper)
    # A real INTERFACE target (with an alias) rather than an imported one, so that FETCH BUILD
    # can hang the download on it: everything that links it then compiles after the fetch.
    add_library(_hfmodels_model_${name} INTERFACE)
    add_library(HFModels::${name} ALIAS _hfmodels_model_${name})
    target_compile_definitions(_hfmodels_model_${name} INTERFACE "HFMODELS_${upper}_DIR=\"${dir}\"")
    set_target_properties(_hfmodels_model_${name} PROPERTIES
      HFMODELS_DIR "${dir}"
      HFMODELS_COMMIT "${_HFMODELS_${name}_COMMIT}"
      HFMODELS_REPO "${_HFMODELS_${name}_REPO}"
      HFMODELS_FILES "${_HFMODELS_${name}_FILES}"
      HFMODELS_LOCKFILE "${lockfile}"
      HFMODELS_CACHE "${cache_dir}"
      HFMODELS_OFFLINE "${offline}")
    set(HFModels_${name}_DIR "${dir}" PARENT_SCOPE)

    if(arg_FETCH STREQUAL "BUILD")
      # Always run (a no-op without network when cached); Ninja and Make run it once per build
      # however many targets link the model, before any of them compiles.
      add_custom_target(hfmodels_fetch_${name}
        COMMAND "${tool}" ${pinned} --no-progress fetch ${name}
        COMMENT "hfmodels: fetching model ${name}"
        VERBATIM)
      add_dependencies(_hfmodels_model_${name} hfmodels_fetch_${name})
    elseif(arg_FETCH STREQUAL "INSTALL")
      _hfmodels_quote(quoted "${tool}" ${pinned} --no-progress fetch ${name})
      install(CODE "
        execute_process(COMMAND ${quoted} RESULT_VARIABLE result)
        if(NOT result EQUAL 0)
          message(FATAL_ERROR \"hfmodels: fetching model ${name} failed (exit code \${result})\")
        endif()")
    endif()
  endforeach()
endfunction()

function(hfmodels_install)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "DESTINATION;COMPONENT" "MODELS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "hfmodels_install: unknown argument(s) ${arg_UNPARSED_ARGUMENTS}. "
                        "Valid: MODELS <name>..., DESTINATION <dir>, COMPONENT <component>")
  endif()
  if(NOT arg_MODELS OR NOT arg_DESTINATION)
    message(FATAL_ERROR "hfmodels_install: MODELS and DESTINATION are required")
  endif()
  set(component "")
  if(arg_COMPONENT)
    set(component COMPONENT "${arg_COMPONENT}")
  endif()
  _hfmodels_configure_tool(tool)
  foreach(name IN LISTS arg_MODELS)
    if(NOT TARGET HFModels::${name})
      message(FATAL_ERROR "hfmodels_install: unknown model '${name}'. Add it with "
                          "hfmodels_add_models() first")
    endif()
    get_target_property(lockfile HFModels::${name} HFMODELS_LOCKFILE)
    get_target_property(cache_dir HFModels::${name} HFMODELS_CACHE)
    get_target_property(offline HFModels::${name} HFMODELS_OFFLINE)
    get_target_property(files HFModels::${name} HFMODELS_FILES)
    _hfmodels_common_args(common "${lockfile}" "${cache_dir}" ${offline})
    _hfmodels_quote(quoted "${tool}" ${common} --no-progress -q export ${name} --to)
    _hfmodels_quote(quoted_files ${files})
    # Resolved at install time so `--prefix`, DESTDIR and CPack's staging prefix are honoured.
    # The manifest lists installed paths as CMake's own entries do: without DESTDIR.
    if(IS_ABSOLUTE "${arg_DESTINATION}")
      set(installed "${arg_DESTINATION}")
    else()
      set(installed "\${CMAKE_INSTALL_PREFIX}/${arg_DESTINATION}")
    endif()
    set(destination "\$ENV{DESTDIR}${installed}")
    # `hfmodels export` also writes the records `hf download --local-dir` keeps
    # (.cache/huggingface/); an installed model is its files only.
    install(CODE "
      message(STATUS \"Installing model ${name}: ${destination}/${name}\")
      execute_process(COMMAND ${quoted} \"${destination}\" RESULT_VARIABLE result)
      if(NOT result EQUAL 0)
        message(FATAL_ERROR \"hfmodels: installing model ${name} failed (exit code \${result})\")
      endif()
      file(REMOVE_RECURSE \"${destination}/${name}/.cache/huggingface\")
      file(GLOB leftover \"${destination}/${name}/.cache/*\")
      if(NOT leftover)
        file(REMOVE_RECURSE \"${destination}/${name}/.cache\")
      endif()
      foreach(file IN ITEMS ${quoted_files})
        list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"${installed}/${name}/\${file}\")
      endforeach()" ${component})
  endforeach()
endfunction()

function(hfmodels_embed_lockfile target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "LOCKFILE" "")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "hfmodels_embed_lockfile: unknown argument(s) ${arg_UNPARSED_ARGUMENTS}. "
                        "Valid: LOCKFILE <path>")
  endif()
  if(NOT TARGET "${target}")
    message(FATAL_ERROR "hfmodels_embed_lockfile: '${target}' is not a target. Call it after "
                        "add_executable(${target} ...) or add_library(${target} ...)")
  endif()
  set(lockfile "${CMAKE_CURRENT_SOURCE_DIR}/models.lock")
  if(arg_LOCKFILE)
    get_filename_component(lockfile "${arg_LOCKFILE}" ABSOLUTE
                           BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  endif()
  if(NOT EXISTS "${lockfile}")
    message(FATAL_ERROR "hfmodels_embed_lockfile: ${lockfile} does not exist. Create it with "
                        "`hfmodels lock` beside models.yaml, or name it with LOCKFILE <path>")
  endif()
  set(source "${CMAKE_CURRENT_BINARY_DIR}/hfmodels_embedded/${target}_lockfile.cpp")
  # The script it runs at build time, beside this file (a directory-scoped variable would be
  # unset in the consumer's directories when hfmodels is a subproject).
  set(script "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/HFModelsEmbedLockfile.cmake")
  add_custom_command(OUTPUT "${source}"
    COMMAND "${CMAKE_COMMAND}" "-DHFMODELS_LOCKFILE=${lockfile}" "-DHFMODELS_OUTPUT=${source}"
            -P "${script}"
    DEPENDS "${lockfile}" "${script}"
    COMMENT "Embedding ${lockfile} into ${target}"
    VERBATIM)
  target_sources("${target}" PRIVATE "${source}")
endfunction()
