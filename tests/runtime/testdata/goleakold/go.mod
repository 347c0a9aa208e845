module example.com/goleakold

go 1.26

require go.uber.org/goleak v1.2.1
