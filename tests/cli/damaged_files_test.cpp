// Damaged input files and unusable output paths through the real binary: a model or
// checkpoint with any one byte flipped, or a root attribute edited by hand, is an agreed error
// (exit 2, one line) or, for a byte nothing reads, the undamaged result -- never a crash or a
// hang; a folder where a file is expected is one short line, not a screen of MPI-IO errors;
// and `recommend`, `predict` and `generate` check --out before they start.
#include <hdf5.h>
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "distmf/hdf5_file.hpp"
#include "test_support.hpp"
#include "train_runs.hpp"

namespace {

using distmf::testing::CommandResult;
using distmf::testing::distmf_command_line;
using distmf::testing::distmf_messages;
using distmf::testing::entries;
using distmf::testing::exists;
using distmf::testing::expect_agreed_error;
using distmf::testing::generate_split;
using distmf::testing::lines_of;
using distmf::testing::read_text;
using distmf::testing::run_distmf;
using distmf::testing::run_distmf_within;
using distmf::testing::run_ok;
using distmf::testing::shell_quote;
using distmf::testing::SplitData;
using distmf::testing::TempDir;
using distmf::testing::write_text;

/// A small trained model and a checkpoint of the same run (k = 2, 2 iterations, 1 rank).
struct SmallRun {
    SplitData data;
    std::string model;
    std::string checkpoint;
};

SmallRun train_small(const TempDir& dir) {
    SmallRun run;
    run.data = generate_split(dir, {"--users", "40", "--items", "30", "--ratings", "600", "--rank",
                                    "2", "--noise", "0.3", "--seed", "5"});
    run.model = dir.file("model.h5");
    const std::string checkpoints = dir.file("checkpoints");
    run_ok(0,
           {"train", "--data.train", run.data.train, "--data.test", run.data.test, "--model.rank",
            "2", "--train.iterations", "2", "--train.threads", "1", "--output.model", run.model,
            "--checkpoint.dir", checkpoints, "--checkpoint.every", "1"});
    const std::vector<std::string> written = entries(checkpoints);
    REQUIRE_FALSE(written.empty());
    run.checkpoint = checkpoints + "/" + written.back();
    return run;
}

/// `bytes` with the byte at `position` inverted.
std::string flipped(std::string bytes, std::size_t position) {
    bytes[position] = static_cast<char>(~static_cast<unsigned char>(bytes[position]));
    return bytes;
}

/// Why `result`, a reader's run on a damaged file, is not acceptable ("" if it is). Acceptable:
/// exit 2 with one line from distmf on stderr (or, from `inspect`, its report with a failed
/// checksum), or exit 0 with exactly the output of the undamaged file.
std::string unacceptable(const CommandResult& result, const CommandResult& undamaged) {
    if (result.exit_code == 0) {
        return result.out == undamaged.out ? "" : "exit 0 with another output:\n" + result.out;
    }
    if (result.exit_code != 2) {
        return "exit " + std::to_string(result.exit_code) + " (124: a hang, > 128: a signal)\n" +
               result.err;
    }
    const std::vector<std::string> messages = distmf_messages(result.err);
    if (messages.size() > 1 || lines_of(result.err).size() > messages.size()) {
        return "exit 2, but stderr is not one line from distmf:\n" + result.err;
    }
    if (messages.empty() && result.out.find("\nchecksums     FAILED: ") == std::string::npos) {
        return "exit 2 without a message";
    }
    return "";
}

/// Runs `distmf <args...>` in each of `folders` (its working directory; relative paths in
/// `args` name files there), three at a time, each one process as an isolated singleton
/// (no Open MPI daemon) with a session folder of its own and a time limit of `seconds`, and
/// returns the results in order (exit 124 or 137: the time limit).
std::vector<CommandResult> run_in_each(const TempDir& dir, const std::vector<std::string>& args,
                                       const std::vector<std::string>& folders, int seconds) {
    const std::string script = dir.file("run_one.sh");
    write_text(script,
               "cd \"$1\" && mkdir -p session && OMPI_MCA_orte_tmpdir_base=\"$PWD/session\" "
               "OMPI_MCA_ess_singleton_isolated=1 timeout -k 5 " +
                   std::to_string(seconds) + " " + distmf_command_line(0, args) +
                   " > out 2> err; echo $? > rc\n");
    std::string list;
    for (const std::string& folder : folders) list += folder + "\n";
    write_text(dir.file("folders.txt"), list);
    const std::string command =
        "xargs -P 3 -n 1 sh " + shell_quote(script) + " < " + shell_quote(dir.file("folders.txt"));
    REQUIRE(std::system(command.c_str()) == 0);
    std::vector<CommandResult> results;
    for (const std::string& folder : folders) {
        const std::string code = read_text(folder + "/rc");
        results.push_back({code.empty() ? -1 : std::stoi(code), read_text(folder + "/out"),
                           read_text(folder + "/err")});
    }
    return results;
}

/// Flips each byte of `positions` of `original`, one per copy (damaged.h5 in a folder of its
/// own), runs `distmf <args...>` on each copy (args name it "damaged.h5") and the undamaged
/// file, and checks every run with `unacceptable`.
void sweep(const std::string& original, const std::vector<std::string>& args,
           const std::vector<std::size_t>& positions) {
    const TempDir dir;
    const std::string bytes = read_text(original);
    std::vector<std::string> folders{dir.file("undamaged")};
    std::filesystem::create_directory(folders.front());
    write_text(folders.front() + "/damaged.h5", bytes);
    for (const std::size_t position : positions) {
        folders.push_back(dir.file("flip" + std::to_string(position)));
        std::filesystem::create_directory(folders.back());
        write_text(folders.back() + "/damaged.h5", flipped(bytes, position));
    }
    const std::vector<CommandResult> results = run_in_each(dir, args, folders, 30);
    const CommandResult& undamaged = results.front();
    INFO("undamaged:\n" << undamaged.out << undamaged.err);
    REQUIRE(undamaged.exit_code == 0);
    std::vector<std::string> failures;
    int errors = 0;
    for (std::size_t i = 0; i < positions.size(); ++i) {
        const CommandResult& result = results[i + 1];
        const std::string why = unacceptable(result, undamaged);
        if (!why.empty()) failures.push_back("byte " + std::to_string(positions[i]) + ": " + why);
        errors += result.exit_code == 2 ? 1 : 0;
    }
    std::string report;
    for (std::size_t i = 0; i < std::min<std::size_t>(failures.size(), 5); ++i) {
        report += failures[i] + "\n";
    }
    INFO(failures.size() << " of " << positions.size() << " flips failed; the first:\n" << report);
    CHECK(failures.empty());
    // The flips must exercise the readers: most of them are detected, few land in unused bytes.
    CHECK(errors * 4 >= static_cast<int>(positions.size()) * 3);
}

/// Every byte of the first `dense` bytes of a file of `size` bytes (the superblock and the
/// root object header with its attributes) and about `spread` more over the rest, at an odd
/// stride, so that the flips fall on every byte offset of the fields they cross; and the last.
std::vector<std::size_t> sweep_positions(std::size_t size, std::size_t dense, std::size_t spread) {
    std::vector<std::size_t> positions;
    dense = std::min(dense, size);
    for (std::size_t p = 0; p < dense; ++p) positions.push_back(p);
    const std::size_t stride = std::max<std::size_t>(1, (size - dense) / spread) | 1U;
    for (std::size_t p = dense; p < size; p += stride) positions.push_back(p);
    if (positions.back() != size - 1) positions.push_back(size - 1);
    return positions;
}

/// The position of the first occurrence of `text` in the file `path`.
std::size_t offset_of(const std::string& path, const std::string& text) {
    const std::size_t at = read_text(path).find(text);
    REQUIRE(at != std::string::npos);
    return at;
}

/// Replaces root attribute `name` of the model file `path` (as h5py would: HDF5's own
/// checksums stay valid) through `write`.
template <class Write>
void edit_attribute(const std::string& path, const std::string& name, Write write) {
    distmf::silence_hdf5_errors();
    const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(id >= 0);
    distmf::H5Handle file(id, H5Fclose, path);
    REQUIRE(H5Adelete(file.get(), name.c_str()) >= 0);
    write(file);
    file.close();
}

/// The lines of `err` without the notes mpiexec adds between lines of dashes (a rank exited
/// non-zero).
std::vector<std::string> without_launcher_notes(const std::string& err) {
    std::vector<std::string> kept;
    bool in_note = false;
    for (const std::string& line : lines_of(err)) {
        const bool dashes = line.size() >= 20 && line.find_first_not_of('-') == std::string::npos;
        if (dashes) {
            in_note = !in_note;
        } else if (!in_note) {
            kept.push_back(line);
        }
    }
    return kept;
}

/// Requires `result` to be a short agreed error: exit 2 and, on stderr, apart from mpiexec's
/// note, one line from distmf naming `path` and containing `expected` (no MPI-IO messages).
void check_short_error(const CommandResult& result, const std::string& path,
                       const std::string& expected) {
    INFO("stdout:\n" << result.out << "\nstderr:\n" << result.err);
    CHECK(result.exit_code == 2);
    const std::vector<std::string> lines = without_launcher_notes(result.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines.front().rfind("distmf: error: ", 0) == 0);
    CHECK(lines.front().find(path) != std::string::npos);
    CHECK(lines.front().find(expected) != std::string::npos);
}

}  // namespace

TEST_CASE("damaged files: a flipped byte anywhere in a model is an error, not a crash",
          "[cli][damaged]") {
    const TempDir dir;
    const SmallRun run = train_small(dir);
    const std::size_t size = read_text(run.model).size();
    sweep(run.model, {"inspect", "damaged.h5"}, sweep_positions(size, 128, 64));
}

TEST_CASE("damaged files: a flipped byte anywhere in a checkpoint is an error, not a crash",
          "[cli][damaged]") {
    const TempDir dir;
    const SmallRun run = train_small(dir);
    const std::size_t size = read_text(run.checkpoint).size();
    sweep(run.checkpoint, {"inspect", "damaged.h5"}, sweep_positions(size, 128, 64));
}

TEST_CASE(
    "damaged files: evaluate, recommend and predict reject a model with a damaged "
    "string attribute",
    "[cli][damaged]") {
    const TempDir dir;
    const SmallRun run = train_small(dir);
    const std::string pairs = dir.file("pairs.tsv");
    write_text(pairs, "1\t1\n2\t3\n");
    // The attribute message of `kind`: its sizes, name, datatype (with the string's size),
    // dataspace and value.
    const std::size_t kind = offset_of(run.model, "kind");
    std::vector<std::size_t> positions;
    for (std::size_t p = kind - 8; p < kind + 40; ++p) positions.push_back(p);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"evaluate", "--model", "damaged.h5", "--data.test",
                                   run.data.test},
          std::vector<std::string>{"recommend", "--model", "damaged.h5", "--user", "1", "--top",
                                   "3"},
          std::vector<std::string>{"predict", "--model", "damaged.h5", "--pairs", pairs}}) {
        INFO(args.front());
        sweep(run.model, args, positions);
    }
}

TEST_CASE(
    "damaged files: train --model.init and --checkpoint.resume with a damaged file end "
    "with an error on 2 ranks, not a hang",
    "[cli][damaged]") {
    const TempDir dir;
    const SmallRun run = train_small(dir);
    const std::vector<std::string> train{"train",
                                         "--data.train",
                                         run.data.train,
                                         "--model.rank",
                                         "2",
                                         "--train.iterations",
                                         "1",
                                         "--train.threads",
                                         "1"};
    const std::string damaged = dir.file("damaged.h5");
    for (const bool init : {true, false}) {
        const std::string original = init ? run.model : run.checkpoint;
        const std::string bytes = read_text(original);
        // The superblock, the root object header, the attribute `kind`, the data, the end.
        const std::size_t kind = offset_of(original, "kind");
        for (const std::size_t position : {std::size_t{9}, std::size_t{60}, kind + 6, kind + 12,
                                           kind + 20, bytes.size() / 2, bytes.size() - 1}) {
            write_text(damaged, flipped(bytes, position));
            std::vector<std::string> args = train;
            args.insert(args.end(), {init ? "--model.init" : "--checkpoint.resume", damaged});
            const CommandResult result = run_distmf_within(60, 2, args);
            INFO((init ? "--model.init" : "--checkpoint.resume") << ", byte " << position << "\n"
                                                                 << result.out << result.err);
            REQUIRE(result.exit_code == 2);
            const std::vector<std::string> messages = distmf_messages(result.err);
            REQUIRE(messages.size() == 1);
            CHECK(messages.front().find(damaged) != std::string::npos);
        }
    }
}

TEST_CASE("damaged files: a root attribute edited by hand is an error naming the file",
          "[cli][damaged]") {
    const TempDir dir;
    const SmallRun run = train_small(dir);
    const std::string model = dir.file("edited.h5");
    const std::string bytes = read_text(run.model);
    SECTION("biases 1 -> 0") {
        write_text(model, bytes);
        edit_attribute(model, "biases", [](const distmf::H5Handle& file) {
            distmf::write_attribute<std::int64_t>(file, "biases", 0);
        });
    }
    SECTION("rating_max 5 -> 3") {
        write_text(model, bytes);
        edit_attribute(model, "rating_max", [](const distmf::H5Handle& file) {
            distmf::write_attribute<double>(file, "rating_max", 3.0);
        });
    }
    SECTION("algorithm als -> ials") {
        write_text(model, bytes);
        edit_attribute(model, "algorithm", [](const distmf::H5Handle& file) {
            distmf::write_string_attribute(file, "algorithm", "ials");
        });
    }
    expect_agreed_error({"evaluate", "--model", model, "--data.test", run.data.test},
                        {model, "checksum mismatch in the attributes"});
}

TEST_CASE("damaged files: a folder as --model is one short error line", "[cli][damaged]") {
    const TempDir dir;
    const SmallRun run = train_small(dir);
    const std::string folder = dir.file("folder.h5");
    std::filesystem::create_directory(folder);
    const std::string pairs = dir.file("pairs.tsv");
    write_text(pairs, "1\t1\n");
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"evaluate", "--model", folder, "--data.test", run.data.test},
          std::vector<std::string>{"recommend", "--model", folder, "--user", "1"},
          std::vector<std::string>{"predict", "--model", folder, "--pairs", pairs},
          std::vector<std::string>{"inspect", folder},
          std::vector<std::string>{"train", "--data.train", run.data.train, "--model.rank", "2",
                                   "--model.init", folder}}) {
        INFO(args.front());
        for (const int ranks : {0, 2}) {
            INFO("ranks " << ranks);
            check_short_error(run_distmf(ranks, args), folder, "is a folder, not a file");
        }
    }
}

TEST_CASE("damaged files: a folder under a checkpoint's name stops train before it trains",
          "[cli][damaged]") {
    const TempDir dir;
    const SmallRun run = train_small(dir);
    const std::string checkpoints = dir.file("run");
    const std::string in_the_way = checkpoints + "/checkpoint-000003.h5";
    std::filesystem::create_directories(in_the_way);
    write_text(in_the_way + "/something", "x");
    const CommandResult result =
        run_distmf(2, {"train", "--data.train", run.data.train, "--model.rank", "2",
                       "--train.iterations", "4", "--checkpoint.dir", checkpoints,
                       "--checkpoint.every", "1", "--checkpoint.resume", "never"});
    check_short_error(result, in_the_way, "is not a file");
    CHECK(result.out.find("iteration") == std::string::npos);  // before the first iteration
    CHECK(entries(checkpoints) == std::vector<std::string>{"checkpoint-000003.h5"});
}

TEST_CASE("damaged files: recommend, predict and generate check --out before they start",
          "[cli][damaged]") {
    const TempDir dir;
    const SmallRun run = train_small(dir);
    const std::string pairs = dir.file("pairs.tsv");
    write_text(pairs, "1\t1\n");
    const std::string folder = dir.file("taken");
    std::filesystem::create_directory(folder);
    const std::string missing = dir.file("missing/out.tsv");
    for (const std::vector<std::string>& command :
         {std::vector<std::string>{"recommend", "--model", run.model, "--all-users"},
          std::vector<std::string>{"predict", "--model", run.model, "--pairs", pairs},
          std::vector<std::string>{"generate", "--users", "10", "--items", "10", "--ratings",
                                   "20"}}) {
        INFO(command.front());
        std::vector<std::string> args = command;
        args.insert(args.end(), {"--out", missing});
        expect_agreed_error(args, {missing, "No such file or directory"});
        args.back() = folder;
        expect_agreed_error(args, {folder, "it is a folder"});
        CHECK(entries(folder).empty());
        CHECK_FALSE(exists(folder + ".tmp"));
    }
}
