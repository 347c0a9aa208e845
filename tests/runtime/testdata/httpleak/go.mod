module example.com/httpleak

go 1.26
