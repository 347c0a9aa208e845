module example.com/diffprog

go 1.26
