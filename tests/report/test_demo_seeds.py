"""The demo's seed set (src/acecoder/pipeline/data/demo_seeds.jsonl): every row becomes a
seed as `acecoder synth` prepares it, the three families are mixed as the demo needs, and
every seed's code is correct: it runs in the sandbox and passes hand-written checks."""

from collections import Counter
from pathlib import Path

from acecoder.execution import Engine, ExecutionJob, ProgramStatus
from acecoder.synth.seeds import iter_seeds

SEEDS = Path(__file__).resolve().parents[2] / "src" / "acecoder" / "pipeline" / "data" / "demo_seeds.jsonl"

# Hand-written checks per seed id (asserts run after the seed's prepared code).
CHECKS = {
 "evol_brackets": ['assert is_balanced("{[()()]}")', 'assert not is_balanced("([)]")', 'assert not is_balanced("((")', 'assert is_balanced("a(b)c")', 'assert not is_balanced(")")'],
 "evol_lru_cache": ['c = LRUCache(2); c.put(1, 1); c.put(2, 2); assert c.get(1) == 1; c.put(3, 3); assert c.get(2) == -1; assert c.get(3) == 3; c.put(1, 5); assert c.get(1) == 5'],
 "evol_toposort": ['assert build_order({"b": ["a"], "c": ["a", "b"]}) == ["a", "b", "c"]', 'assert build_order({"x": [], "a": []}) == ["a", "x"]',
                   'try:\n    build_order({"a": ["b"], "b": ["a"]})\n    assert False\nexcept ValueError:\n    pass'],
 "evol_lcs": ['assert lcs_length("ABCBDAB", "BDCABA") == 4', 'assert lcs_length("", "abc") == 0', 'assert lcs_length("abc", "abc") == 3'],
 "evol_spiral": ['assert spiral_order([[1,2,3],[4,5,6],[7,8,9]]) == [1,2,3,6,9,8,7,4,5]', 'assert spiral_order([]) == []', 'assert spiral_order([[1,2],[3,4],[5,6]]) == [1,2,4,6,5,3]'],
 "evol_roman": ['assert roman_to_int("MCMXCIV") == 1994', 'assert roman_to_int("III") == 3', 'assert roman_to_int("XLII") == 42'],
 "evol_coin_change": ['assert min_coins([1, 5, 11], 15) == 3', 'assert min_coins([2], 3) == -1', 'assert min_coins([1], 0) == 0'],
 "evol_top_words": ['assert top_words("the cat and The hat", 2) == [("the", 2), ("and", 1)]', 'assert top_words("", 3) == []'],
 "evol_grid_path": ['assert shortest_path([[0, 0, 0], [1, 1, 0], [0, 0, 0]]) == 4', 'assert shortest_path([[0]]) == 0', 'assert shortest_path([[0, 1], [1, 0]]) == -1'],
 "evol_email": ['assert is_valid_email("jane.doe+news@example.co.uk")', 'assert not is_valid_email("a@b")', 'assert not is_valid_email(".a@b.com")', 'assert not is_valid_email("a@@b.com")', 'assert not is_valid_email("a@b.c1")'],
 "evol_bank_account": ['a = BankAccount(10); assert a.deposit(5) == 15; assert a.withdraw(15) == 0',
                       'a = BankAccount()\ntry:\n    a.withdraw(1)\n    assert False\nexcept ValueError:\n    pass'],
 "evol_sieve": ['assert primes_up_to(30) == [2,3,5,7,11,13,17,19,23,29]', 'assert primes_up_to(1) == []', 'assert primes_up_to(2) == [2]'],
 "evol_first_index": ['assert first_index([1, 2, 2, 2, 3], 2) == 1', 'assert first_index([], 1) == -1', 'assert first_index([1, 3], 2) == -1', 'assert first_index([1, 3], 3) == 1'],
 "evol_flatten": ['assert flatten([1, [2, (3, [4])], "ab"]) == [1, 2, 3, 4, "ab"]', 'assert flatten([]) == []'],
 "evol_edit_distance": ['assert edit_distance("kitten", "sitting") == 3', 'assert edit_distance("", "abc") == 3', 'assert edit_distance("flaw", "lawn") == 2'],
 "evol_anagrams": ['assert group_anagrams(["eat", "tea", "tan", "ate", "nat", "bat"]) == [["ate", "eat", "tea"], ["bat"], ["nat", "tan"]]'],
 "oss_config_parser": ['assert parse_config("# c\\na = 1\\n\\n b=x=y \\na=2") == {"a": "2", "b": "x=y"}',
                       'try:\n    parse_config("oops")\n    assert False\nexcept ValueError:\n    pass'],
 "oss_insert_interval": ['assert insert_interval([[1, 3], [6, 9]], [2, 5]) == [[1, 5], [6, 9]]', 'assert insert_interval([], [1, 2]) == [[1, 2]]',
                         'assert insert_interval([[1, 2], [3, 5], [6, 7], [8, 10]], [4, 8]) == [[1, 2], [3, 10]]', 'assert insert_interval([[1, 2]], [5, 6]) == [[1, 2], [5, 6]]', 'assert insert_interval([[1, 2]], [2, 3]) == [[1, 3]]'],
 "oss_stack": ['s = Stack(); s.push(1); s.push(2); assert s.peek() == 2; assert s.pop() == 2; assert s.size() == 1; s.pop(); assert s.is_empty()',
               's = Stack()\ntry:\n    s.pop()\n    assert False\nexcept IndexError as e:\n    assert str(e) == "empty stack"'],
 "oss_components": ['assert count_components(5, [(0, 1), (1, 2), (3, 4)]) == 2', 'assert count_components(3, []) == 3', 'assert count_components(2, [(0, 1), (1, 0)]) == 1'],
 "oss_matmul": ['assert matmul([[1, 2], [3, 4]], [[5], [6]]) == [[17], [39]]',
                'try:\n    matmul([[1, 2]], [[1, 2]])\n    assert False\nexcept ValueError:\n    pass'],
 "oss_ranges": ['assert compress_ranges([5, 1, 2, 3, 7, 8]) == "1-3,5,7-8"', 'assert compress_ranges([]) == ""', 'assert compress_ranges([2, 2, 3]) == "2-3"'],
 "oss_versions": ['assert compare_versions("1.2.10", "1.2.9") == 1', 'assert compare_versions("1.0", "1.0.0") == 0', 'assert compare_versions("1.0", "1.0.1") == -1'],
 "oss_lcm": ['assert lcm_of([4, 6]) == 12', 'assert lcm_of([7]) == 7', 'assert lcm_of([2, 3, 4, 5]) == 60'],
 "oss_max_subarray": ['assert max_subarray([-2, 1, -3, 4, -1, 2, 1, -5, 4]) == 6', 'assert max_subarray([-3, -1, -2]) == -1'],
 "oss_sudoku": ['b = ["53..7....", "6..195...", ".98....6.", "8...6...3", "4..8.3..1", "7...2...6", ".6....28.", "...419..5", "....8..79"]; assert valid_sudoku(b)',
                'b = ["83..7....", "6..195...", ".98....6.", "8...6...3", "4..8.3..1", "7...2...6", ".6....28.", "...419..5", "....8..79"]; assert not valid_sudoku(b)'],
 "oss_flatten_dict": ['assert flatten_dict({"a": {"b": 1}, "c": 2}) == {"a.b": 1, "c": 2}', 'assert flatten_dict({"a": {}}) == {}', 'assert flatten_dict({"a": {"b": {"c": 1}}}, sep="/") == {"a/b/c": 1}'],
 "oss_duration": ['assert parse_duration("1h30m") == 5400', 'assert parse_duration("45s") == 45', 'assert parse_duration("2h5s") == 7205',
                  'for bad in ("", "5m1h", "1x", "h"):\n    try:\n        parse_duration(bad)\n        assert False, bad\n    except ValueError:\n        pass'],
 "oss_lis": ['assert longest_increasing([10, 9, 2, 5, 3, 7, 101, 18]) == 4', 'assert longest_increasing([]) == 0', 'assert longest_increasing([2, 2, 2]) == 1'],
 "oss_rpn": ['assert eval_rpn(["-7", "2", "/"]) == -3', 'assert eval_rpn(["2", "1", "+", "3", "*"]) == 9', 'assert eval_rpn(["4", "13", "5", "/", "+"]) == 6'],
 "stack_rle_decode": ['assert rle_decode("3a2b1c") == "aaabbc"', 'assert rle_decode("12x") == "x" * 12', 'assert rle_decode("ab") == "ab"'],
 "stack_is_prime": ['assert [n for n in range(20) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19]', 'assert not is_prime(25)'],
 "stack_transpose": ['assert transpose([[1, 2, 3], [4, 5, 6]]) == [[1, 4], [2, 5], [3, 6]]', 'assert transpose([]) == []'],
 "stack_caesar": ['assert caesar("Hello, World!", 3) == "Khoor, Zruog!"', 'assert caesar("abc", -1) == "zab"', 'assert caesar("xyz", 29) == "abc"'],
 "stack_moving_average": ['assert moving_average([1, 2, 3, 4], 2) == [1.5, 2.5, 3.5]', 'assert moving_average([1], 2) == []'],
 "stack_unique_in_order": ['assert unique_in_order([3, 1, 3, 2, 1]) == [3, 1, 2]', 'assert unique_in_order("abca") == ["a", "b", "c"]'],
 "stack_digital_root": ['assert digital_root(942) == 6', 'assert digital_root(0) == 0', 'assert digital_root(9999) == 9'],
 "stack_pascal": ['assert pascal_triangle(4) == [[1], [1, 1], [1, 2, 1], [1, 3, 3, 1]]', 'assert pascal_triangle(0) == []'],
 "stack_headline": ['assert headline("the lord of the rings") == "The Lord of the Rings"', 'assert headline("what it is for") == "What It Is For"'],
 "stack_merge_sorted": ['assert merge_sorted([1, 3, 5], [2, 3, 6]) == [1, 2, 3, 3, 5, 6]', 'assert merge_sorted([], [1]) == [1]'],
}

def test_every_row_becomes_a_seed_of_the_three_families():
    drops, skipped = Counter(), []
    seeds = list(iter_seeds(SEEDS, drops=drops, skipped=skipped))
    assert not drops and not skipped
    assert Counter(seed.source for seed in seeds) == {"evol": 16, "oss": 14, "stack": 10}
    # interleaved, so that a `synth.limit` run still sees every family
    assert [seed.source for seed in seeds[:6]] == ["evol", "oss", "stack"] * 2
    assert all(5 <= seed.code.count("\n") + 1 <= 30 for seed in seeds)
    assert all("print(" not in seed.code for seed in seeds)  # the Evol responses' print lines are dropped


def test_every_seed_runs_and_passes_its_checks():
    seeds = list(iter_seeds(SEEDS))
    assert {seed.id for seed in seeds} == set(CHECKS)
    jobs = [ExecutionJob(id=seed.id, program=seed.code, tests=CHECKS[seed.id]) for seed in seeds]
    with Engine(workers=2, timeout=3.0) as engine:
        results = engine.run(jobs)
    failed = {r.id: (r.status, r.error, r.messages) for r in results if r.status is not ProgramStatus.OK or not r.all_passed}
    assert not failed
