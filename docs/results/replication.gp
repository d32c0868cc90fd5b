set datafile separator ','
set terminal pngcairo size 800,500
set xlabel 'cores'
set ylabel 'ops/s'
set key left top
set grid
set output 'docs/results/replication_throughput_u0.png'
set title 'KvMap throughput, 0% updates'
plot for [p in "broadcast 2pc sequencer nr shared"] '< awk -F, -v p='.p.' "\$1==p && \$3==0" docs/results/replication.csv' using 2:4 with linespoints title p
set output 'docs/results/replication_throughput_u10.png'
set title 'KvMap throughput, 10% updates'
plot for [p in "broadcast 2pc sequencer nr shared"] '< awk -F, -v p='.p.' "\$1==p && \$3==10" docs/results/replication.csv' using 2:4 with linespoints title p
set output 'docs/results/replication_throughput_u100.png'
set title 'KvMap throughput, 100% updates'
plot for [p in "broadcast 2pc sequencer nr shared"] '< awk -F, -v p='.p.' "\$1==p && \$3==100" docs/results/replication.csv' using 2:4 with linespoints title p
