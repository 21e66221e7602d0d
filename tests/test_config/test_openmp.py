"""posecfg/config/openmp.py: idle cores -> a short spin, busy cores -> sleep at once, the user's
choice untouched."""
import pytest

from posecfg.config import openmp
from posecfg.config.openmp import IDLE_SPIN_COUNT, busy_cores, choose_openmp_waiting, read_proc_stat


@pytest.fixture
def clean_env(monkeypatch):
    for variable in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'):
        # set first, so that monkeypatch restores the variable's state (unset included)
        # after what choose_openmp_waiting sets
        monkeypatch.setenv(variable, 'x')
        monkeypatch.delenv(variable)
    return monkeypatch


def reader(*samples):
    """read_times returning each sample in turn ({cpu name: (busy, total)}), then going on at
    the rate of the last two (the load lasts)."""
    samples = list(samples)

    def read():
        if len(samples) > 2:
            return samples.pop(0)
        a, b = samples
        samples[:] = [b, {name: (2 * b[name][0] - a[name][0], 2 * b[name][1] - a[name][1])
                          for name in b}]
        return a
    return read


def idle():
    return reader({'cpu0': (10, 100), 'cpu1': (10, 100)}, {'cpu0': (10, 200), 'cpu1': (11, 200)})


def one_busy():
    return reader({'cpu0': (10, 100), 'cpu1': (10, 100)}, {'cpu0': (110, 200), 'cpu1': (10, 200)})


def test_idle_cores_spin_briefly(clean_env):
    import os
    chosen = choose_openmp_waiting(0, idle(), cpus=[0, 1])
    assert chosen == {'OMP_WAIT_POLICY': 'PASSIVE', 'GOMP_SPINCOUNT': str(IDLE_SPIN_COUNT)}
    assert os.environ['GOMP_SPINCOUNT'] == str(IDLE_SPIN_COUNT)


def test_busy_core_sleeps_at_once(clean_env):
    import os
    assert choose_openmp_waiting(0, one_busy(), cpus=[0, 1]) == {'OMP_WAIT_POLICY': 'PASSIVE'}
    assert 'GOMP_SPINCOUNT' not in os.environ


def test_only_the_cores_of_this_process_count(clean_env):
    cpu0_busy = [{'cpu0': (0, 100), 'cpu1': (0, 100)}, {'cpu0': (100, 200), 'cpu1': (0, 200)}]
    assert busy_cores(0, reader(*cpu0_busy), cpus=[0, 1]) == 1.0
    # cpu0 is busy but this process may only run on cpu1
    assert busy_cores(0, reader(*cpu0_busy), cpus=[1]) == 0.0


@pytest.mark.parametrize('variable', ['OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'])
def test_the_users_choice_is_kept(clean_env, variable):
    import os
    clean_env.setenv(variable, 'ACTIVE' if variable == 'OMP_WAIT_POLICY' else '5')
    assert choose_openmp_waiting(0, idle(), cpus=[0, 1]) == {}
    assert set(k for k in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT') if k in os.environ) == {variable}


def test_a_moments_work_is_not_load(clean_env):
    """A process exiting during the look: busy in the first half, idle in the second."""
    moment = reader({'cpu0': (0, 100), 'cpu1': (0, 100)}, {'cpu0': (100, 200), 'cpu1': (0, 200)},
                    {'cpu0': (100, 300), 'cpu1': (0, 300)}, {'cpu0': (100, 400), 'cpu1': (0, 400)})
    assert busy_cores(0, moment, cpus=[0, 1]) == 0.0
    assert busy_cores(0, one_busy(), cpus=[0, 1]) == 1.0


def test_cpus_the_stat_does_not_name_sleep_at_once(clean_env):
    # a container numbering its cpuset {4, 5} as cpu0, cpu1: nothing is known of cpu4, cpu5
    assert busy_cores(0, one_busy(), cpus=[4, 5]) is None
    assert choose_openmp_waiting(0, one_busy(), cpus=[4, 5]) == {'OMP_WAIT_POLICY': 'PASSIVE'}


def test_many_cores_with_a_little_background_work_are_idle(clean_env):
    cpus = list(range(64))
    before = {f'cpu{c}': (0, 100) for c in cpus}
    after = {f'cpu{c}': (2, 200) for c in cpus}  # 2% of every core: 1.28 cores in all
    assert choose_openmp_waiting(0, reader(before, after), cpus=cpus)['GOMP_SPINCOUNT'] == \
        str(IDLE_SPIN_COUNT)
    after = {f'cpu{c}': (10, 200) for c in cpus}  # 10% of every core: 6.4 cores
    assert 'GOMP_SPINCOUNT' not in choose_openmp_waiting(0, reader(before, after), cpus=cpus)


def test_unreadable_stat_sleeps_at_once(clean_env):
    def unreadable():
        raise OSError('no /proc here')
    assert choose_openmp_waiting(0, unreadable, cpus=[0]) == {'OMP_WAIT_POLICY': 'PASSIVE'}


def test_read_proc_stat(tmp_path):
    stat = tmp_path / 'stat'
    stat.write_text('cpu  10 1 5 100 4 0 2 3 0 0\n'
                    'cpu0 6 1 3 50 2 0 1 2 0 0\n'
                    'cpu1 4 0 2 50 2 0 1 1 0 0\n'
                    'intr 12345 0 0\n')
    times = read_proc_stat(str(stat))
    # busy: user+nice+system+irq+softirq+steal; idle and iowait are not
    assert times['cpu0'] == (6 + 1 + 3 + 0 + 1 + 2, 65)
    assert times['cpu1'] == (4 + 2 + 1 + 1, 60)
    assert set(times) == {'cpu', 'cpu0', 'cpu1'}


def test_this_machine_reads():
    import os
    if not os.path.exists('/proc/stat'):
        pytest.skip('no /proc/stat')
    busy = openmp.busy_cores(0.02)
    assert busy is not None and 0.0 <= busy <= len(os.sched_getaffinity(0)) + 1e-6
