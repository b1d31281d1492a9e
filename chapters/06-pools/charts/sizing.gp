# sizing.gp - how big should a pool be (make charts CH=06).
# run: demo/sizing
# quick: demo/sizing 2000 2000 0.5
# Data: pool size, requests done per second, p50 and p99 latency (ms),
# Little's L (busy connections the offered load needs on average).
set terminal pngcairo size 900,520 font ",10"
set output outfile
stats datafile using 5 nooutput
little = STATS_max
set multiplot layout 1,2 title sprintf("Chapter 06: pool size against an open-loop load (Little's L = %.1f)", little)
set logscale x 2
set xlabel "pool size (connections)"
set grid
set key top right
set title "latency from when each request was due (ms)"
set logscale y 10
set arrow 1 from little, graph 0 to little, graph 1 nohead dashtype 2
plot datafile using 1:3 with linespoints title "p50", \
     datafile using 1:4 with linespoints title "p99"
unset logscale y
set title "requests completed per second"
set yrange [0:*]
set key bottom right
plot datafile using 1:2 with linespoints title "done/s"
unset multiplot
